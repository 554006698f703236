"""Preview environments and `prune-stacks`, against the local AWS: an ordinary prune never
deletes a preview's stack (its deployment still exists under another stack name, so it would
look no longer deployed); `--prune-expired` removes the previews whose `jiti:expires` has
passed, dependents first, and keeps the live ones."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest

from jiti_contract import Inventory, PreviewSettings, StackPlace
from jiti_deploy import prune, runner
from jiti_deploy.destinations import Destinations
from jiti_deploy.local_aws import LocalAws
from jiti_deploy.report import Result
from jiti_deploy.testutil import quiet

REPOSITORY = "prune-preview-test"
QUEUE = {"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}}


def expiry(hours: float) -> str:
    when = datetime.now(timezone.utc) + timedelta(hours=hours)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def destinations(endpoint, tmp_path, monkeypatch) -> Destinations:
    monkeypatch.setattr(
        "jiti_deploy.local_aws.ensure_running",
        lambda state_dir, log=print: LocalAws(endpoint=endpoint, pid=0),
    )
    return Destinations("local", tmp_path / "state", log=quiet)


@pytest.fixture
def previews(destination, make):
    """The dev stacks of `apps/v-api:deploy` and `apps/v-web:deploy` (web depends on api), a
    preview `pr-1` of both that expired an hour ago, and a preview `pr-2` that lives on."""

    def deploy(stack: str, app: str, preview: str | None = None, hours: float = 0, **plan):
        if preview:  # a preview's copy, as the plugin plans it
            plan["preview"] = PreviewSettings(preview, "dev", 72)
        d = make(stack, QUEUE, address=f"apps/{app}:deploy", repository=REPOSITORY, **plan)
        if preview:
            d = dataclasses.replace(d, expires=expiry(hours))
        runner.deploy(destination, d, log=quiet)

    deploy("v-api", "v-api")
    deploy("v-web", "v-web", depends_on=("apps/v-api:deploy",))
    deploy("v-api-pr-1", "v-api", "pr-1", -1)
    deploy("v-web-pr-1", "v-web", "pr-1", -1, depends_on=("apps/v-api:deploy",))
    deploy("v-api-pr-2", "v-api", "pr-2", 24)
    return Inventory(
        REPOSITORY,
        (
            StackPlace("apps/v-api:deploy", "v-api-dev"),
            StackPlace("apps/v-web:deploy", "v-web-dev"),
        ),
    )


def prune_run(destinations, inventory, **options) -> tuple[dict, list[str]]:
    outcomes, logged = [], []
    prune.run(
        destinations,
        inventory,
        max_parallel=2,
        assets_grace_days=None,
        outcomes=outcomes,
        assets=[],
        log=logged.append,
        **options,
    )
    return {o.stack: o for o in outcomes}, logged


def live_names(destination) -> set[str]:
    cfn = destination.client("cloudformation")
    return {
        s["StackName"]
        for page in cfn.get_paginator("describe_stacks").paginate()
        for s in page["Stacks"]
        if s["StackStatus"] != "DELETE_COMPLETE"
    }


def test_an_ordinary_prune_never_deletes_a_preview_stack(destination, destinations, previews):
    """Its deployment still deploys `v-api-dev`, not `v-api-pr-2-dev`: without the preview
    rule the preview's stacks look no longer deployed, and a confirmed prune deletes them."""
    found, _ = prune_run(destinations, previews, confirm=True)
    assert found == {}
    assert {"v-api-pr-1-dev", "v-web-pr-1-dev", "v-api-pr-2-dev"} <= live_names(destination)


def test_prune_expired_removes_expired_previews_dependents_first_and_keeps_live_ones(
    destination, destinations, previews
):
    listed, _ = prune_run(destinations, previews, confirm=False, prune_expired=True)
    assert {name: o.result for name, o in listed.items()} == {
        "v-api-pr-1-dev": Result.WOULD_DELETE,
        "v-web-pr-1-dev": Result.WOULD_DELETE,
    }
    assert listed["v-api-pr-1-dev"].reason.startswith("the preview pr-1 expired at ")
    found, logged = prune_run(destinations, previews, confirm=True, prune_expired=True)
    assert {name: o.result for name, o in found.items()} == {
        "v-api-pr-1-dev": Result.DELETED,
        "v-web-pr-1-dev": Result.DELETED,
    }
    deleting = [line.split("] deleting ")[1].split()[0] for line in logged if "] deleting " in line]
    assert deleting == ["v-web-pr-1-dev", "v-api-pr-1-dev"]
    left = live_names(destination)
    assert {"v-api-dev", "v-web-dev", "v-api-pr-2-dev"} <= left
    assert not {"v-api-pr-1-dev", "v-web-pr-1-dev"} & left
