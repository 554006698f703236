"""greeter: answers `GET /hello?name=...` behind API Gateway (REST API, proxy integration)."""

from __future__ import annotations

import os

from apps.shared.http import json_response


def greeting(name: str | None) -> str:
    name = (name or "").strip() or "world"
    return f"Hello, {name[:64]}!"


def handle(event: dict, context: object) -> dict:
    params = event.get("queryStringParameters") or {}
    return json_response(
        200,
        {
            "message": greeting(params.get("name")),
            "env": os.environ.get("JITI_ENV", "unknown"),
        },
    )
