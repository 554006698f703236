"""Unpack archive assets into the buckets a template names (`jiti:site-content` metadata),
once the stack is live, since CloudFormation cannot fill a bucket by itself.

Publishing is part of the deployment's version: a marker in the assets bucket records that
this version's content is out, so a run interrupted after the stack update publishes again
instead of saying "up to date".
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import zipfile

from jiti_contract import SITE_CONTENT_METADATA
from jiti_deploy.assets import AssetsBucket
from jiti_deploy.deployment import Deployment
from jiti_deploy.destinations import Destination
from jiti_deploy.errors import DeployError


def entries(deployment: Deployment) -> list[dict]:
    """The template's site contents: each an archive asset and the output naming its bucket."""
    template = json.loads(deployment.template_path.read_text())
    return template.get("Metadata", {}).get(SITE_CONTENT_METADATA, [])


def _marker(deployment: Deployment) -> str:
    return f"published/{deployment.stack_name}/{deployment.version}"


def is_published(assets_bucket: AssetsBucket, deployment: Deployment) -> bool:
    return assets_bucket.exists(_marker(deployment))


def publish(destination: Destination, deployment: Deployment, outputs: dict, log=print) -> None:
    s3 = destination.client("s3")
    by_key = {a.key: a for a in deployment.manifest.assets}
    published = {}
    for entry in entries(deployment):
        bucket = outputs.get(entry["BucketOutput"])
        if not bucket:
            raise DeployError(
                f"output {entry['BucketOutput']} (the site bucket) is missing from {deployment.stack_name}"
            )
        with zipfile.ZipFile(deployment.asset_path(by_key[entry["Asset"]])) as archive:
            names = [n for n in archive.namelist() if not n.endswith("/")]
            for name in names:
                content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
                s3.put_object(
                    Bucket=bucket,
                    Key=name,
                    Body=archive.read(name),
                    ContentType=content_type,
                    ExpectedBucketOwner=destination.account,
                )
        log(f"published {len(names)} files to s3://{bucket}")
        published[bucket] = entry["Asset"]
    if published:
        marker = (json.dumps(published, sort_keys=True) + "\n").encode()
        AssetsBucket(destination).put(
            _marker(deployment), marker, hashlib.sha256(marker).hexdigest()
        )
