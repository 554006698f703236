"""Sample events for a Lambda handler, shaped as AWS sends them, with overrides: for handler
tests and for `pants run <python_awslambda> -- --event event.json`.

Write one to a file:
`./pants run infra-lib/jiti_infra/sample_events.py -- http-api --path /hello --query name=Ada > event.json`
(`rest-api`, `http-api`, `sqs` or `schedule`; `--help` for the options).
Standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import uuid
from datetime import datetime, timezone

ACCOUNT = "123456789012"
REGION = "us-east-1"
API_ID = "1234567890"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _body(body) -> str | None:
    return body if body is None or isinstance(body, str) else json.dumps(body)


def rest_api_event(
    method: str = "GET",
    path: str = "/",
    *,
    query: dict | None = None,
    headers: dict | None = None,
    body=None,
    path_parameters: dict | None = None,
    resource: str | None = None,
    stage: str = "prod",
) -> dict:
    """An API Gateway REST API proxy integration's event (payload 1.0), as in the API Gateway
    Developer Guide, "Input format of a Lambda function for proxy integration". A `body` that
    is not text is sent as JSON."""
    headers = {"Accept": "*/*", "Host": f"{API_ID}.execute-api.{REGION}.amazonaws.com",
               **(headers or {})}  # fmt: skip
    now = _now()
    return {
        "resource": resource or path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": API_ID,
            "domainName": headers["Host"],
            "domainPrefix": API_ID,
            "extendedRequestId": str(uuid.uuid4()),
            "httpMethod": method,
            "identity": {"sourceIp": "192.0.2.1", "userAgent": "jiti"},
            "path": f"/{stage}{path}",
            "protocol": "HTTP/1.1",
            "requestId": str(uuid.uuid4()),
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "resourceId": "abc123",
            "resourcePath": resource or path,
            "stage": stage,
        },
        "body": _body(body),
        "isBase64Encoded": False,
    }


def http_api_event(
    method: str = "GET",
    path: str = "/",
    *,
    query: dict | None = None,
    headers: dict | None = None,
    body=None,
    path_parameters: dict | None = None,
    route_key: str | None = None,
    stage: str = "$default",
) -> dict:
    """An API Gateway HTTP API's event (payload format 2.0), as in the API Gateway Developer
    Guide, "Create AWS Lambda proxy integrations for HTTP APIs" (payload format version 2.0).
    Fields without a value (`body`, `queryStringParameters`, ...) are left out, as AWS does."""
    host = f"{API_ID}.execute-api.{REGION}.amazonaws.com"
    now = _now()
    route = route_key or f"{method} {path}"
    event = {
        "version": "2.0",
        "routeKey": route,
        "rawPath": path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in (query or {}).items()),
        "headers": {
            "accept": "*/*",
            "host": host,
            **{k.lower(): v for k, v in (headers or {}).items()},
        },
        "queryStringParameters": query or None,
        "pathParameters": path_parameters or None,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": API_ID,
            "domainName": host,
            "domainPrefix": API_ID,
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "192.0.2.1", "userAgent": "jiti"},  # fmt: skip
            "requestId": str(uuid.uuid4()),
            "routeKey": route,
            "stage": stage,
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "body": _body(body),
        "isBase64Encoded": False,
    }
    return {k: v for k, v in event.items() if v is not None}


def sqs_event(*bodies, queue: str = "queue") -> dict:
    """An SQS event source mapping's batch, one record per body (a body that is not text is
    sent as JSON), as in the Lambda Developer Guide, "Using Lambda with Amazon SQS" (example
    standard queue message event)."""
    sent = str(int(_now().timestamp() * 1000))
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": f"AQEB{uuid.uuid4().hex}",
                "body": _body(body),
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": sent,
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": sent,
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(_body(body).encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}",
                "awsRegion": REGION,
            }
            for body in bodies
        ]
    }


def schedule_event(rule: str = "schedule", *, time: str | None = None) -> dict:
    """An EventBridge scheduled rule's event, as in the EventBridge User Guide, "Creating an
    Amazon EventBridge rule that runs on a schedule" (the event a schedule sends: `detail-type`
    `Scheduled Event`, `source` `aws.events`, the rule's ARN in `resources`)."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": time or _now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule}"],
        "detail": {},
    }


def _pairs(values: list[str], option: str) -> dict:
    pairs = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep:
            raise SystemExit(f"{option} {value!r}: give NAME=VALUE")
        pairs[name] = text
    return pairs


def main(argv: list[str]) -> dict:
    """The event the command line asks for."""
    parser = argparse.ArgumentParser(prog="sample_events", description="Print a sample event.")
    parser.add_argument("kind", choices=("rest-api", "http-api", "sqs", "schedule"))
    parser.add_argument("--method", default="GET", help="rest-api, http-api")
    parser.add_argument("--path", default="/", help="rest-api, http-api")
    parser.add_argument("--query", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--header", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--body", action="append", default=[], help="sqs: once per record")
    parser.add_argument("--rule", default="schedule", help="schedule: the rule's name")
    args = parser.parse_args(argv)
    if args.kind == "sqs":
        return sqs_event(*(args.body or ["{}"]))
    if args.kind == "schedule":
        return schedule_event(args.rule)
    make = rest_api_event if args.kind == "rest-api" else http_api_event
    return make(
        args.method,
        args.path,
        query=_pairs(args.query, "--query"),
        headers=_pairs(args.header, "--header"),
        body=args.body[0] if args.body else None,
    )


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:]), indent=2))
