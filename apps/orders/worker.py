"""orders worker: stores queued orders in the table, reporting failed messages one by one."""

from __future__ import annotations

import json
import os

import boto3

_table = None


def table():
    global _table
    if _table is None:
        _table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    return _table


def handle(event: dict, context: object) -> dict:
    failures = []
    for record in event.get("Records", []):
        try:
            order = json.loads(record["body"])
            table().put_item(
                Item={
                    "id": order["id"],
                    "item": order["item"],
                    "quantity": order["quantity"],
                    "status": "stored",
                }
            )
        except (KeyError, ValueError):
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
