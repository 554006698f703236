"""ARNs and S3 URLs in the partition of a region (`aws`, `aws-cn`, `aws-us-gov`, ...), from
botocore's own data, never hard-coded: a policy naming `arn:aws:` is malformed in China, and
the global S3 host does not serve buckets of the regions opened after March 2019."""

from __future__ import annotations

import urllib.parse

import boto3


def partition(session: boto3.Session, region: str) -> str:
    return session.get_partition_for_region(region)


def dns_suffix(session: boto3.Session, partition_name: str) -> str:
    """The partition's domain (`amazonaws.com`, `amazonaws.com.cn`, ...)."""
    endpoints = session._session.get_data("endpoints")  # botocore's endpoints.json
    for data in endpoints["partitions"]:
        if data["partition"] == partition_name:
            return data["dnsSuffix"]
    raise ValueError(f"botocore knows no partition {partition_name!r}")


def s3_arn(partition_name: str, bucket: str, path: str = "") -> str:
    return f"arn:{partition_name}:s3:::{bucket}{path}"


def account_root(partition_name: str, account: str) -> str:
    return f"arn:{partition_name}:iam::{account}:root"


def object_url(session: boto3.Session, region: str, bucket: str, key: str, version=None) -> str:
    """The object at its bucket's regional S3 host (virtual-hosted), pinned to `version` if
    given (CloudFormation reads that version then, whatever is put at the key later)."""
    suffix = dns_suffix(session, partition(session, region))
    url = f"https://{bucket}.s3.{region}.{suffix}/{urllib.parse.quote(key)}"
    return f"{url}?versionId={urllib.parse.quote(version, safe='')}" if version else url
