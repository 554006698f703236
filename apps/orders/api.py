"""orders API: `POST /orders` validates an order and queues it for the worker."""

from __future__ import annotations

import json
import os
import uuid

import boto3

from apps.shared.http import BadRequest, json_body, json_response

_sqs = None


def sqs():
    global _sqs
    if _sqs is None:
        _sqs = boto3.client("sqs")
    return _sqs


def handle(event: dict, context: object) -> dict:
    try:
        order = json_body(event, required={"item": str, "quantity": int})
    except BadRequest as e:
        return json_response(400, {"error": str(e)})
    if order["quantity"] < 1:
        return json_response(400, {"error": "field 'quantity' must be at least 1"})
    order_id = str(uuid.uuid4())
    message = {"id": order_id, "item": order["item"], "quantity": order["quantity"]}
    sqs().send_message(QueueUrl=os.environ["QUEUE_URL"], MessageBody=json.dumps(message))
    return json_response(202, {"id": order_id, "status": "queued"})
