"""greeter: answers `GET /hello?name=...` behind API Gateway (REST API, proxy integration)."""

from __future__ import annotations

import json
import os


def greeting(name: str | None) -> str:
    name = (name or "").strip() or "world"
    return f"Hello, {name[:64]}!"


def handle(event: dict, context: object) -> dict:
    params = event.get("queryStringParameters") or {}
    body = {"message": greeting(params.get("name")), "env": os.environ.get("JITI_ENV", "unknown")}
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body),
    }
