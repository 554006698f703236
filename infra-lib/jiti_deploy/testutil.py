"""Pieces the runtime's tests share: a DynamoDB table resource, and a log that prints nothing."""

from __future__ import annotations


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
