"""The orders handlers against moto's SQS and DynamoDB."""

import json

import boto3
import pytest
from moto import mock_aws

from apps.orders import api, worker


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        monkeypatch.setattr(api, "_sqs", None)
        monkeypatch.setattr(worker, "_table", None)
        queue_url = boto3.client("sqs").create_queue(QueueName="orders")["QueueUrl"]
        boto3.client("dynamodb").create_table(
            TableName="orders",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        )
        monkeypatch.setenv("QUEUE_URL", queue_url)
        monkeypatch.setenv("TABLE_NAME", "orders")
        yield queue_url


def test_order_flows_from_api_through_queue_to_table(aws):
    response = api.handle({"body": json.dumps({"item": "book", "quantity": 2})}, None)
    assert response["statusCode"] == 202
    order_id = json.loads(response["body"])["id"]

    messages = boto3.client("sqs").receive_message(QueueUrl=aws, MaxNumberOfMessages=10)["Messages"]
    records = [{"messageId": m["MessageId"], "body": m["Body"]} for m in messages]
    assert worker.handle({"Records": records}, None) == {"batchItemFailures": []}

    item = boto3.resource("dynamodb").Table("orders").get_item(Key={"id": order_id})["Item"]
    assert item["item"] == "book" and item["quantity"] == 2 and item["status"] == "stored"


@pytest.mark.parametrize("body", ['{"item": "book"}', '{"item": "book", "quantity": 0}', "nope"])
def test_invalid_orders_are_rejected_and_not_queued(aws, body):
    assert api.handle({"body": body}, None)["statusCode"] == 400
    assert "Messages" not in boto3.client("sqs").receive_message(QueueUrl=aws)


def test_worker_reports_only_broken_messages(aws):
    records = [
        {
            "messageId": "ok",
            "body": json.dumps({"id": "1", "item": "pen", "quantity": 1}),
        },
        {"messageId": "bad", "body": "{not json"},
    ]
    assert worker.handle({"Records": records}, None) == {
        "batchItemFailures": [{"itemIdentifier": "bad"}]
    }
