"""`prune-stacks --jiti-prune-assets`: objects of the assets buckets that nothing live uses, as
`cdk gc` does for the CDK. An asset (`assets/<sha256>...`) is in use while any live stack's or
StackSet's template, in any account and region the repository reaches, names its key (asset keys
are content hashes, so one template naming it is enough to keep it everywhere); a staged template
(`templates/`) is used only while its change set is made; a site-content marker
(`published/<stack>/<version>`) while that stack is live at that version. Anything unused and
older than the grace period is deleted, every version of it; nothing younger is touched, so a
deploy running meanwhile keeps what it uploaded.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from botocore.exceptions import ClientError

from jiti_deploy import live
from jiti_deploy.assets import NOT_FOUND, AssetsBucket
from jiti_deploy.destinations import Destination

ASSET_KEY = re.compile(r"assets/[0-9a-f]{64}[A-Za-z0-9._-]*")


def _templates_in(cfn, stacks: list[live.LiveStack]) -> list[str]:
    """The template text of each stack (one GetTemplate each) and of each StackSet here."""
    texts = []
    for stack in stacks:
        body = cfn.get_template(StackName=stack.stack_id or stack.name)["TemplateBody"]
        texts.append(body if isinstance(body, str) else repr(body))
    for page in cfn.get_paginator("list_stack_sets").paginate(Status="ACTIVE"):
        for summary in page["Summaries"]:
            described = cfn.describe_stack_set(StackSetName=summary["StackSetName"])["StackSet"]
            texts.append(described.get("TemplateBody", ""))
    return texts


def _in_use(places: dict, staying: dict) -> tuple[set[str], set[str]]:
    """Asset keys named by what stays live anywhere, and the site-content markers of what is
    live at its version."""
    keys, markers = set(), set()
    for where, destination in places.items():
        stacks = staying.get(where, [])
        for text in _templates_in(destination.client("cloudformation"), stacks):
            keys.update(ASSET_KEY.findall(text))
        markers.update(f"published/{s.name}/{s.version}" for s in stacks if s.version)
    return keys, markers


def _unused(key: str, keys: set[str], markers: set[str]) -> bool:
    if key.startswith("assets/"):
        return key not in keys
    if key.startswith("published/"):
        return key not in markers
    return key.startswith("templates/")


def _objects(bucket: AssetsBucket) -> list[dict]:
    s3, found = bucket.destination.client("s3"), []
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket.name, ExpectedBucketOwner=bucket.destination.account
        ):
            found += page.get("Contents", [])
    except ClientError as e:
        if e.response["Error"]["Code"] in NOT_FOUND:
            return []  # no bucket here: nothing was ever staged
        raise
    return found


def _delete_every_version(destination: Destination, bucket: str, keys: list[str]) -> None:
    s3 = destination.client("s3")
    for key in keys:
        versions = []
        for page in s3.get_paginator("list_object_versions").paginate(
            Bucket=bucket, Prefix=key, ExpectedBucketOwner=destination.account
        ):
            versions += [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
                if v["Key"] == key
            ]
        for i in range(0, len(versions), 1000):
            s3.delete_objects(
                Bucket=bucket,
                Delete={"Objects": versions[i : i + 1000], "Quiet": True},
                ExpectedBucketOwner=destination.account,
            )


def prune(
    places: dict, staying: dict, *, grace_days: float, confirm: bool, log=print
) -> list[dict]:
    """The unused objects of each place's assets bucket (deleted with `confirm`), one row each."""
    keys, markers = _in_use(places, staying)
    cutoff = datetime.now(timezone.utc) - timedelta(days=grace_days)
    rows = []
    for (account, region), destination in sorted(places.items()):
        bucket = AssetsBucket(destination)
        unused = [
            o
            for o in _objects(bucket)
            if _unused(o["Key"], keys, markers) and o["LastModified"] < cutoff
        ]
        if confirm and unused:
            _delete_every_version(destination, bucket.name, [o["Key"] for o in unused])
        if unused:
            verb = "deleted" if confirm else "would delete"
            log(
                f"s3://{bucket.name}: {verb} {len(unused)} unused objects older than {grace_days:g} days"
            )
        rows += [
            {
                "account": account,
                "region": region,
                "bucket": bucket.name,
                "key": o["Key"],
                "size": o["Size"],
                "last_modified": o["LastModified"].isoformat(),
                "result": "deleted" if confirm else "would delete",
            }
            for o in unused
        ]
    return rows
