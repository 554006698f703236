"""A preview environment's copy of a deployment: its own stack beside the base's, tagged with
the preview and its expiry, renewed by a deploy in a later hour, and never taking over (nor
taken over by) another environment's stack of its name."""

from __future__ import annotations

import calendar
import dataclasses

import pytest

from jiti_contract import EXPIRES_TAG, PREVIEW_TAG, PreviewSettings
from jiti_deploy import preview, runner
from jiti_deploy.errors import DeployError
from jiti_deploy.report import Result
from jiti_deploy.testutil import quiet

HOUR = 3600
NOW = calendar.timegm((2026, 12, 2, 7, 30, 0))


def site() -> dict:
    return {
        "Parameters": {"Environment": {"Type": "String"}},
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {"SiteUrl": {"Value": {"Fn::Sub": "https://${Environment}.example.com"}}},
    }


def copy_of(deployment, name: str, now: float, stack_name: str | None = None):
    """The deployment as the plugin plans its preview copy, loaded at `now`."""
    plan = dataclasses.replace(
        deployment.plan,
        stack_name=stack_name or f"{deployment.plan.app}-{name}",
        environment=name,
        preview=PreviewSettings(name, "dev", 72),
    )
    return dataclasses.replace(deployment, plan=plan, expires=preview.expires_at(now, 72))


def described(destination, name: str) -> dict:
    return destination.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]


def tags_of(stack: dict) -> dict:
    return {t["Key"]: t["Value"] for t in stack["Tags"]}


def test_expiry_is_the_ttl_after_now_rounded_down_to_the_hour():
    assert preview.expires_at(NOW, 72) == "2026-12-05T07:00:00Z"
    assert preview.expires_at(NOW + 59, 72) == preview.expires_at(NOW, 72)
    assert preview.expires_at(NOW, 0) == "2026-12-02T07:00:00Z"  # already past: expired


def test_a_preview_copy_is_its_own_stack_tagged_and_renewed_in_a_later_hour(destination, make):
    base = make("shop", site())
    assert runner.deploy(destination, base, log=quiet) is Result.DEPLOYED
    before = described(destination, "shop-dev")

    outputs: dict = {}
    copy = copy_of(base, "pr-7", NOW)
    assert runner.deploy(destination, copy, log=quiet, outputs=outputs) is Result.DEPLOYED
    stack = described(destination, "shop-pr-7")
    tags = tags_of(stack)
    assert tags[PREVIEW_TAG] == "pr-7" and tags["jiti:env"] == "pr-7"
    assert tags[EXPIRES_TAG] == "2026-12-05T07:00:00Z"
    assert tags["jiti:deployment"] == "apps/shop:deploy"
    assert outputs == {"SiteUrl": "https://pr-7.example.com"}
    assert described(destination, "shop-dev") == before  # the base is untouched

    same_hour = copy_of(base, "pr-7", NOW + 60)
    assert runner.deploy(destination, same_hour, log=quiet) is Result.UP_TO_DATE
    later = copy_of(base, "pr-7", NOW + 2 * HOUR)
    assert runner.deploy(destination, later, log=quiet) is Result.DEPLOYED
    assert tags_of(described(destination, "shop-pr-7"))[EXPIRES_TAG] == "2026-12-05T09:00:00Z"


def test_a_preview_never_takes_over_another_environments_stack(destination, make):
    base = make("owned", site())
    runner.deploy(destination, base, log=quiet)
    same_name = copy_of(base, "pr-8", NOW, stack_name="owned-dev")
    with pytest.raises(DeployError, match="not a stack of the preview 'pr-8'"):
        runner.deploy(destination, same_name, log=quiet)

    other = make("taken", site())
    runner.deploy(destination, copy_of(other, "pr-9", NOW, stack_name="taken-dev2"), log=quiet)
    base_named_so = dataclasses.replace(
        other, plan=dataclasses.replace(other.plan, stack_name="taken-dev2")
    )
    with pytest.raises(DeployError, match="a stack of the preview 'pr-9'"):
        runner.deploy(destination, base_named_so, log=quiet)
