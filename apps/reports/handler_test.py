"""The reports handler against moto's DynamoDB: it reads every page of the orders table."""

import boto3
import pytest
from moto import mock_aws

from apps.reports import handler


@pytest.fixture
def orders(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        monkeypatch.setattr(handler, "_table", None)
        boto3.client("dynamodb").create_table(
            TableName="orders",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        )
        monkeypatch.setenv("ORDERS_TABLE", "orders")
        yield boto3.resource("dynamodb").Table("orders")


def test_the_report_counts_every_order(orders, capsys):
    with orders.batch_writer() as batch:
        for i in range(120):
            item = ("book", "pen", "ink")[i % 3]
            status = "stored" if i % 4 else "kept"
            batch.put_item(Item={"id": f"{i:04d}", "item": item, "quantity": 2, "status": status})
    report = handler.handle({"time": "2026-01-01T06:00:00Z"}, None)
    assert report == {
        "orders": 120,
        "by_status": {"kept": 30, "stored": 90},
        "quantity_by_item": {"book": 80, "ink": 80, "pen": 80},
    }
    assert '"scheduled_at": "2026-01-01T06:00:00Z"' in capsys.readouterr().out


def test_every_page_is_read():
    class Paged:
        pages = [
            {"Items": [{"item": "a", "quantity": 1}], "LastEvaluatedKey": {"id": "1"}},
            {"Items": [{"item": "b", "quantity": 3}]},
        ]
        calls: list = []

        def scan(self, **kwargs):
            self.calls.append(kwargs)
            return self.pages[len(self.calls) - 1]

    source = Paged()
    assert handler.summarize(handler.all_items(source))["quantity_by_item"] == {"a": 1, "b": 3}
    assert source.calls == [{}, {"ExclusiveStartKey": {"id": "1"}}]


def test_an_empty_table_is_an_empty_report(orders):
    assert handler.handle({}, None) == {"orders": 0, "by_status": {}, "quantity_by_item": {}}
