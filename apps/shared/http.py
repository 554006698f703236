"""HTTP helpers shared by the apps behind API Gateway (Lambda proxy integration)."""

from __future__ import annotations

import json


class BadRequest(ValueError):
    """The request is malformed; its message is safe to return to the caller."""


def json_response(status: int, body: dict) -> dict:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body, sort_keys=True),
    }


def json_body(event: dict, *, required: dict[str, type]) -> dict:
    """The request's JSON object, checked to have `required` fields of the given types."""
    try:
        body = json.loads(event.get("body") or "")
    except json.JSONDecodeError:
        raise BadRequest("body must be a JSON object") from None
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object")
    for name, kind in required.items():
        if not isinstance(body.get(name), kind) or isinstance(body.get(name), bool) is not (
            kind is bool
        ):
            raise BadRequest(f"field {name!r} must be a {kind.__name__}")
    return body
