"""Unpack archive assets into the buckets a template names (`jiti:site-content` metadata),
once the stack is live, since CloudFormation cannot fill a bucket by itself."""

from __future__ import annotations

import mimetypes
import zipfile

from jiti_contract import SITE_CONTENT_METADATA
from jiti_deploy.deployment import Deployment
from jiti_deploy.errors import DeployError


def publish(s3, deployment: Deployment, template: dict, outputs: dict, log=print) -> None:
    assets = {a.key: a for a in deployment.manifest.assets}
    for entry in template.get("Metadata", {}).get(SITE_CONTENT_METADATA, []):
        bucket = outputs.get(entry["BucketOutput"])
        if not bucket:
            raise DeployError(
                f"output {entry['BucketOutput']} (the site bucket) is missing from {deployment.stack_name}"
            )
        with zipfile.ZipFile(deployment.asset_path(assets[entry["Asset"]])) as archive:
            names = [n for n in archive.namelist() if not n.endswith("/")]
            for name in names:
                content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
                s3.put_object(
                    Bucket=bucket,
                    Key=name,
                    Body=archive.read(name),
                    ContentType=content_type,
                )
        log(f"published {len(names)} files to s3://{bucket}")
