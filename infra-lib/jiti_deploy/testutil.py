"""Pieces the runtime's tests share: a DynamoDB table resource, a log that prints nothing, and
S3's answers for an assets bucket as it should be, and its reads made one by one for a Stubber."""

from __future__ import annotations

import json


def quiet(_: str) -> None:
    pass


def table(name: str, deletion_policy: str, **attributes: str) -> dict:
    """A pay-per-request table keyed by `id`; `attributes` adds e.g. `UpdateReplacePolicy`."""
    return {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": deletion_policy,
        **attributes,
        "Properties": {
            "TableName": name,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        },
    }


def one_by_one(calls: dict) -> dict:
    """`bucket_settings.at_once` for a botocore `Stubber`, which answers calls in the order they
    were queued and is not thread-safe: the calls one after another, in their order."""
    return {name: call() for name, call in calls.items()}


def stub_a_hardened_bucket(stub, bucket: str, account: str, partition: str = "aws") -> None:
    """Queue on an S3 `Stubber` S3's answers for an assets bucket whose protections are all
    set (what a run reads before it uses the bucket); the encryption is the default of every
    bucket since 2023 (localstack `tests/aws/services/s3/test_s3_api.snapshot.json`
    `TestS3BucketEncryption::test_s3_default_bucket_encryption`, recorded on AWS)."""
    from jiti_deploy import bucket_settings

    owned = {"Bucket": bucket, "ExpectedBucketOwner": account}
    block = {"PublicAccessBlockConfiguration": bucket_settings.PUBLIC_ACCESS_BLOCK}
    stub.add_response("get_public_access_block", block, owned)
    rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    encryption = {"Rules": [{**rule, "BucketKeyEnabled": False}]}
    stub.add_response(
        "get_bucket_encryption", {"ServerSideEncryptionConfiguration": encryption}, owned
    )
    stub.add_response("get_bucket_versioning", {"Status": "Enabled"}, owned)
    lifecycle = {"Rules": [bucket_settings.OLD_VERSIONS]}
    stub.add_response("get_bucket_lifecycle_configuration", lifecycle, owned)
    policy = {"Statement": [bucket_settings.tls_only(partition, bucket)]}
    stub.add_response("get_bucket_policy", {"Policy": json.dumps(policy)}, owned)
