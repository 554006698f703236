"""Helpers for tests of infra modules and blocks: synthesize like the build does, then lint."""

from __future__ import annotations

import json
from typing import Callable

from jiti_infra.app import App


def fake_assets(*addresses: str) -> dict[str, dict]:
    """Asset entries as the build passes them, with a made-up content hash per address."""
    out = {}
    for i, address in enumerate(addresses):
        sha = f"{i:064x}"
        out[address] = {"key": f"assets/{sha}.zip", "sha256": sha}
    return out


def synthesize(
    template_fn: Callable[[App], object],
    *,
    name: str = "app",
    address: str = "apps/app:stack",
    assets: tuple[str, ...] = (),
) -> dict:
    app = App(name, address, fake_assets(*assets))
    result = template_fn(app)
    assert result is app.template, "template(app) must return app.template"
    return json.loads(json.dumps(app.finalize().to_dict()))


def lint_errors(template: dict, regions: tuple[str, ...] = ("us-east-1", "eu-west-1")) -> list[str]:
    """cfn-lint's errors (not warnings) for a template built in a test, e.g. a block in a
    configuration no stack uses (`pants lint` checks every stack's own template)."""
    from cfnlint.api import ManualArgs, lint

    matches = lint(json.dumps(template), config=ManualArgs(regions=list(regions)))
    return [f"{m.rule.id} {m.message} ({m.path})" for m in matches if m.rule.id.startswith("E")]


def resources_of_type(template: dict, type_: str) -> dict[str, dict]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == type_}


# Sample events for handler tests, shaped as AWS sends them (see `jiti_infra.sample_events`).
from jiti_infra.sample_events import (  # noqa: E402, F401
    http_api_event,
    rest_api_event,
    schedule_event,
    sqs_event,
)
