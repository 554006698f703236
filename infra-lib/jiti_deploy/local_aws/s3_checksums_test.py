"""Fix 19: the local AWS refuses an object whose claimed SHA-256 is not its bytes' (`BadDigest`),
as S3 does; plain moto keeps the claimed checksum and gives it back."""

from __future__ import annotations

import base64
import hashlib

import boto3
import pytest
from botocore.exceptions import ClientError

from jiti_deploy.local_aws import CREDENTIALS
from jiti_deploy.local_aws.fidelity_test import unpatched

CLAIMED = base64.b64encode(hashlib.sha256(b"the asset's bytes").digest()).decode()


def test_a_put_whose_checksum_is_not_its_bytes_is_refused(endpoint):
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=endpoint, **CREDENTIALS)
    s3.create_bucket(Bucket="jiti-checksums")
    with pytest.raises(ClientError) as refused:
        s3.put_object(
            Bucket="jiti-checksums",
            Key="k",
            Body=b"other bytes",
            ChecksumAlgorithm="SHA256",
            ChecksumSHA256=CLAIMED,
        )
    assert refused.value.response["Error"]["Code"] == "BadDigest"
    right = s3.put_object(
        Bucket="jiti-checksums",
        Key="k",
        Body=b"the asset's bytes",
        ChecksumAlgorithm="SHA256",
        ChecksumSHA256=CLAIMED,
    )
    assert right["ChecksumSHA256"] == CLAIMED


def test_moto_still_keeps_a_checksum_that_is_not_the_bytes():
    result = unpatched(
        f"""
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="sums")
        s3.put_object(Bucket="sums", Key="k", Body=b"other bytes", ChecksumAlgorithm="SHA256",
                      ChecksumSHA256="{CLAIMED}")
        result["kept"] = s3.head_object(Bucket="sums", Key="k", ChecksumMode="ENABLED").get(
            "ChecksumSHA256")
        """
    )
    assert result == {"kept": CLAIMED}
