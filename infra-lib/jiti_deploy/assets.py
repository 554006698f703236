"""Content-addressed assets: one bucket per account and region, each key uploaded once."""

from __future__ import annotations

import json

from botocore.exceptions import ClientError

from jiti_deploy.deployment import Deployment
from jiti_deploy.destinations import Destination


def bucket_name(account: str, region: str) -> str:
    return f"jiti-assets-{account}-{region}"


def ensure_bucket(s3, name: str, region: str, log=print) -> None:
    try:
        s3.head_bucket(Bucket=name)
        return
    except ClientError as e:
        if e.response["Error"]["Code"] not in ("404", "NoSuchBucket", "NotFound"):
            raise
    log(f"creating the assets bucket {name}")
    kwargs = (
        {}
        if region == "us-east-1"
        else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    )
    s3.create_bucket(Bucket=name, **kwargs)
    s3.get_waiter("bucket_exists").wait(Bucket=name)
    s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )


def allow_reads(s3, bucket: str, accounts: list[str]) -> None:
    """Let other accounts read the assets (StackSet instances live in other accounts)."""
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "JitiStackSetAssets",
                        "Effect": "Allow",
                        "Principal": {"AWS": [f"arn:aws:iam::{a}:root" for a in sorted(accounts)]},
                        "Action": "s3:GetObject",
                        "Resource": f"arn:aws:s3:::{bucket}/assets/*",
                    }
                ],
            }
        ),
    )


def _exists(s3, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except ClientError as e:
        if e.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            return False
        raise


def upload(destination: Destination, deployment: Deployment, bucket: str, log=print) -> int:
    """Upload the deployment's assets that the bucket lacks; returns how many were uploaded."""
    s3 = destination.client("s3")
    uploaded = 0
    for asset in deployment.manifest.assets:
        if _exists(s3, bucket, asset.key):
            continue
        log(f"uploading {asset.address} -> s3://{bucket}/{asset.key} ({asset.size} bytes)")
        s3.upload_file(str(deployment.asset_path(asset)), bucket, asset.key)  # transfer manager
        uploaded += 1
    return uploaded
