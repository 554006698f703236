"""Sample events have the fields AWS's documented examples have, and take overrides."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from jiti_infra.sample_events import main
from jiti_infra.testing import http_api_event, rest_api_event, schedule_event, sqs_event

# The top-level fields of the documented examples (see each function's docstring).
REST_API_FIELDS = {
    "resource", "path", "httpMethod", "headers", "multiValueHeaders", "queryStringParameters",
    "multiValueQueryStringParameters", "pathParameters", "stageVariables", "requestContext",
    "body", "isBase64Encoded",
}  # fmt: skip
HTTP_API_FIELDS = {
    "version", "routeKey", "rawPath", "rawQueryString", "headers", "queryStringParameters",
    "requestContext", "body", "pathParameters", "isBase64Encoded",
}  # fmt: skip


def test_a_rest_api_event_is_a_proxy_integration_s_input():
    event = rest_api_event("POST", "/orders", query={"dry": "1"}, body={"item": "tea"})
    assert set(event) == REST_API_FIELDS
    assert event["httpMethod"] == "POST" and event["path"] == "/orders"
    assert json.loads(event["body"]) == {"item": "tea"} and event["isBase64Encoded"] is False
    assert event["multiValueQueryStringParameters"] == {"dry": ["1"]}
    assert event["requestContext"]["path"] == "/prod/orders"
    assert rest_api_event()["queryStringParameters"] is None  # as AWS sends no query string


def test_an_http_api_event_is_payload_2_0_and_leaves_out_what_has_no_value():
    event = http_api_event("GET", "/hello", query={"name": "Ada"}, body="raw", headers={"X-A": "b"})
    assert set(event) == HTTP_API_FIELDS - {"pathParameters"}
    assert event["version"] == "2.0" and event["routeKey"] == "GET /hello"
    assert event["rawQueryString"] == "name=Ada" and event["queryStringParameters"] == {
        "name": "Ada"
    }
    assert event["requestContext"]["http"]["method"] == "GET" and event["body"] == "raw"
    assert event["headers"]["x-a"] == "b"  # HTTP APIs send header names in lower case
    bare = http_api_event()
    assert "queryStringParameters" not in bare and "body" not in bare


def test_an_sqs_event_has_one_record_per_body_with_its_md5():
    event = sqs_event("one", {"n": 2}, queue="orders")
    first, second = event["Records"]
    assert first["body"] == "one" and json.loads(second["body"]) == {"n": 2}
    assert first["md5OfBody"] == hashlib.md5(b"one").hexdigest()
    assert first["eventSource"] == "aws:sqs" and first["eventSourceARN"].endswith(":orders")
    assert first["messageId"] != second["messageId"]


def test_a_schedule_event_is_eventbridge_s_scheduled_event():
    event = schedule_event("nightly", time="2026-01-01T00:00:00Z")
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["resources"][0].endswith(":rule/nightly") and event["detail"] == {}
    assert event["time"] == "2026-01-01T00:00:00Z"


def test_the_command_line_writes_an_event_as_json():
    assert main(["http-api", "--path", "/hello", "--query", "name=Ada"])["rawPath"] == "/hello"
    assert len(main(["sqs", "--body", "a", "--body", "b"])["Records"]) == 2
    infra_lib = str(Path(__file__).absolute().parents[1])
    done = subprocess.run(
        [sys.executable, "-m", "jiti_infra.sample_events", "schedule", "--rule", "r"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": infra_lib},
    )
    assert json.loads(done.stdout)["resources"][0].endswith(":rule/r")
