"""reports: a summary of the orders in the orders app's table, run on a schedule by an
EventBridge rule. It only reads the table (its role allows nothing else)."""

from __future__ import annotations

import json
import os
from collections import Counter
from typing import Iterable, Iterator

import boto3

_table = None


def table():
    global _table
    if _table is None:
        _table = boto3.resource("dynamodb").Table(os.environ["ORDERS_TABLE"])
    return _table


def all_items(source) -> Iterator[dict]:
    """Every item of the table, page by page."""
    kwargs: dict = {}
    while True:
        page = source.scan(**kwargs)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def summarize(orders: Iterable[dict]) -> dict:
    """How many orders there are, by status, and how much of each item was ordered."""
    count, by_status, quantities = 0, Counter(), Counter()
    for order in orders:
        count += 1
        by_status[order.get("status", "unknown")] += 1
        quantities[order.get("item", "?")] += int(order.get("quantity", 0))
    return {
        "orders": count,
        "by_status": dict(sorted(by_status.items())),
        "quantity_by_item": dict(sorted(quantities.items())),
    }


def handle(event: dict, context: object) -> dict:
    report = summarize(all_items(table()))
    print(json.dumps({"report": report, "scheduled_at": event.get("time")}, sort_keys=True))
    return report
