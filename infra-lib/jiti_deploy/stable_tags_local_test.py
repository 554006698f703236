"""What changes with each deploy stays off the stack's tags, which CloudFormation propagates to
every taggable resource: a code change plans exactly the resources it changes, a redeploy at a
new commit re-tags nothing, and a stack deployed with the old tags is still jiti's."""

from __future__ import annotations

import dataclasses
import hashlib
import json

from jiti_contract import StackSetSettings
from jiti_deploy import runner, settings
from jiti_deploy.report import Result
from jiti_deploy.source import Source
from jiti_deploy.testutil import quiet

FIRST, SECOND = Source("a" * 40, 1_900_000_000), Source("b" * 40, 1_900_000_100)


def queues(visibility: int) -> dict:
    """Two queues and a function: only the first queue's visibility changes between versions."""
    return {
        "Resources": {
            "Jobs": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": visibility}},
            "Dead": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 30}},
        }
    }


def described(destination, name: str) -> dict:
    return destination.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]


def tags_of(stack: dict) -> dict:
    return {t["Key"]: t["Value"] for t in stack.get("Tags", [])}


def outputs_of(stack: dict) -> dict:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", []) or []}


def test_a_change_at_a_new_commit_plans_exactly_what_changes_and_retags_nothing(destination, make):
    first = make("planned", queues(30), source=FIRST, tags={"team": "shop"})
    assert runner.deploy(destination, first, log=quiet) is Result.DEPLOYED
    tags_before = tags_of(described(destination, "planned-dev"))

    second = make("planned", queues(45), source=SECOND, tags={"team": "shop"})
    assert second.version != first.version
    planned: list = []
    runner.deploy(destination, second, dry_run=True, change_sets=planned, log=quiet)
    ((change_set,),) = [planned]
    assert [(c.action, c.logical_id) for c in change_set.changes] == [("Modify", "Jobs")]
    assert [d.label for d in change_set.changes[0].details] == ["VisibilityTimeout"]

    assert runner.deploy(destination, second, log=quiet) is Result.DEPLOYED
    after = described(destination, "planned-dev")
    assert tags_of(after) == tags_before  # nothing re-tagged
    assert {"jiti:version", "jiti:config", "jiti:commit", "jiti:commit-time"}.isdisjoint(
        tags_of(after)
    )
    assert tags_of(after)["team"] == "shop" and "jiti:deployment" in tags_of(after)


def test_the_version_and_commit_are_read_from_the_stack_but_are_not_its_outputs(
    destination, make, tmp_path
):
    deployment = make("recorded", queues(30), source=FIRST)
    deployment = dataclasses.replace(deployment, outputs_file=tmp_path / "recorded.outputs.json")
    logged: list[str] = []
    runner.deploy(destination, deployment, log=logged.append)
    assert runner.deploy(destination, deployment, log=quiet) is Result.UP_TO_DATE
    assert (tmp_path / "recorded.outputs.json").read_text() == "{}\n"
    assert not any("Jiti" in line for line in logged)
    later = make("recorded", queues(30), source=Source("0" * 40, 1_800_000_000))
    logged.clear()
    runner.deploy(destination, later, log=logged.append)  # same version: up to date
    assert any("up to date" in line for line in logged)


def test_a_stack_deployed_with_the_old_tags_is_redeployed_once_with_stable_tags(destination, make):
    """Before, the version, settings and commit were stack tags: such a stack is still this
    deployment's, and is redeployed (not "up to date") so that it carries the new record."""
    deployment = make("upgraded", queues(30), source=FIRST)
    old_tags = {
        **settings.tags(deployment),
        "jiti:version": deployment.version,
        "jiti:config": deployment.config_hash(),
        "jiti:commit": FIRST.commit,
        "jiti:commit-time": str(FIRST.time),
    }
    cfn = destination.client("cloudformation")
    cfn.create_stack(
        StackName="upgraded-dev",
        TemplateBody=deployment.template_path.read_text(),
        Tags=[{"Key": k, "Value": v} for k, v in old_tags.items()],
    )
    assert runner.deploy(destination, deployment, log=quiet) is Result.DEPLOYED
    after = described(destination, "upgraded-dev")
    assert tags_of(after) == settings.tags(deployment)
    assert outputs_of(after)["JitiVersion"] == deployment.version
    assert runner.deploy(destination, deployment, log=quiet) is Result.UP_TO_DATE


def test_a_large_template_carries_the_record_too(destination, make):
    big = {
        "Resources": {
            f"Q{i}": {
                "Type": "AWS::SQS::Queue",
                "Metadata": {"pad": hashlib.sha256(b"%d" % i).hexdigest() * 4},
            }
            for i in range(250)
        }
    }
    deployment = make("bigrecord", big, source=FIRST)
    assert deployment.template_path.stat().st_size > 51_200
    assert runner.deploy(destination, deployment, log=quiet) is Result.DEPLOYED
    assert runner.deploy(destination, deployment, log=quiet) is Result.UP_TO_DATE


def test_a_stack_set_records_its_version_in_its_template_not_its_tags(destination, make):
    """DescribeStackSet returns the StackSet's TemplateBody: its record is read from there."""
    fleet = make(
        "recfleet",
        queues(30),
        source=FIRST,
        stack_set=StackSetSettings(("444444444444",), ("us-east-1",), 100, 0),
    )
    assert runner.deploy(destination, fleet, log=quiet) is Result.DEPLOYED
    assert runner.deploy(destination, fleet, log=quiet) is Result.UP_TO_DATE
    described = destination.client("cloudformation").describe_stack_set(StackSetName="recfleet-dev")
    tags = {t["Key"]: t["Value"] for t in described["StackSet"]["Tags"]}
    assert tags == settings.tags(fleet)
    outputs = json.loads(described["StackSet"]["TemplateBody"])["Outputs"]
    assert outputs["JitiVersion"]["Value"] == fleet.version
    changed = make(
        "recfleet",
        queues(45),
        source=SECOND,
        stack_set=StackSetSettings(("444444444444",), ("us-east-1",), 100, 0),
    )
    assert runner.deploy(destination, changed, log=quiet) is Result.DEPLOYED
