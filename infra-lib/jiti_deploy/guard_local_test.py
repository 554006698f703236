"""Guarding the data, against the local AWS: the replace gate stops a change set that would
replace or delete a stateful resource before anything runs, the stack policy refuses it even
without the gate, and every change set jiti makes is in the report, property by property."""

from __future__ import annotations

import json

import pytest

from jiti_contract import STATEFUL_TYPES, default_stack_policy
from jiti_deploy import batch, live, plan_markdown, runner
from jiti_deploy.errors import DeployError
from jiti_deploy.report import Result
from jiti_deploy.testutil import quiet, table

POLICY = default_stack_policy(("Table",))


def template(table_name: str, visibility: int = 30, *, with_table: bool = True) -> dict:
    resources = {
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": visibility}}
    }
    if with_table:
        resources["Table"] = table(table_name, "RetainExceptOnCreate", UpdateReplacePolicy="Retain")
    return {"Resources": resources}


def stack(destination, name: str) -> dict:
    return destination.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]


def tags(destination, name: str) -> dict:
    return {t["Key"]: t["Value"] for t in stack(destination, name).get("Tags", [])}


def live_version(destination, name: str) -> str:
    """The version the stack carries (jiti's record output)."""
    return live.LiveStack.from_description(stack(destination, name)).version


def tables(destination) -> list[str]:
    return destination.client("dynamodb").list_tables()["TableNames"]


def change_sets_of(destination, name: str) -> list[dict]:
    summaries = destination.client("cloudformation").list_change_sets(StackName=name)["Summaries"]
    return [s for s in summaries if s["StackName"] == name and s["ExecutionStatus"] == "AVAILABLE"]


@pytest.mark.parametrize("dry_run", [True, False])
def test_the_replace_gate_stops_a_replacement_of_data_before_anything_runs(
    destination, make, dry_run
):
    name = f"gated{'-dry' if dry_run else ''}"
    runner.deploy(destination, make(name, template(f"{name}-a"), stack_policy=POLICY), log=quiet)
    version_before = live_version(destination, f"{name}-dev")
    replacing = make(name, template(f"{name}-b", visibility=45), stack_policy=POLICY)
    shown: list = []
    with pytest.raises(runner.Blocked) as blocked:
        runner.deploy(
            destination,
            replacing,
            dry_run=dry_run,
            fail_on_replace=STATEFUL_TYPES,
            change_sets=shown,
            log=quiet,
        )
    message = str(blocked.value)
    assert "stopped before changing anything" in message
    assert "Table (AWS::DynamoDB::Table): would be replaced: TableName changed" in message
    assert "Queue" not in message  # changed in place: not the gate's business
    # Nothing ran: same version, the change set deleted, the old table kept, no new one.
    assert live_version(destination, f"{name}-dev") == version_before
    assert stack(destination, f"{name}-dev")["StackStatus"] == "CREATE_COMPLETE"
    assert change_sets_of(destination, f"{name}-dev") == []
    assert f"{name}-a" in tables(destination) and f"{name}-b" not in tables(destination)
    (change_set,) = shown
    by_id = {c.logical_id: c for c in change_set.changes}
    assert by_id["Table"].replacement == "True" and by_id["Queue"].replacement == "False"


def test_the_replace_gate_stops_the_deletion_of_data_and_lets_in_place_changes_through(
    destination, make
):
    runner.deploy(destination, make("guard-kept", template("guard-kept-t")), log=quiet)
    without_table = make("guard-kept", template("guard-kept-t", with_table=False))
    with pytest.raises(runner.Blocked, match=r"Table \(AWS::DynamoDB::Table\): would be deleted"):
        runner.deploy(destination, without_table, fail_on_replace=STATEFUL_TYPES, log=quiet)
    in_place = make("guard-kept", template("guard-kept-t", visibility=50))
    assert (
        runner.deploy(destination, in_place, fail_on_replace=STATEFUL_TYPES, log=quiet)
        is Result.DEPLOYED
    )


def test_the_stack_policy_is_set_on_create_and_refuses_a_replacement_without_the_gate(
    destination, make
):
    runner.deploy(destination, make("policy", template("policy-a"), stack_policy=POLICY), log=quiet)
    cfn = destination.client("cloudformation")
    assert json.loads(cfn.get_stack_policy(StackName="policy-dev")["StackPolicyBody"]) == POLICY
    with pytest.raises(DeployError) as failed:
        runner.deploy(
            destination, make("policy", template("policy-b"), stack_policy=POLICY), log=quiet
        )
    assert "stack is UPDATE_ROLLBACK_COMPLETE" in str(failed.value)
    assert "Table (AWS::DynamoDB::Table): Action denied by stack policy" in str(failed.value)
    assert "policy-a" in tables(destination) and "policy-b" not in tables(destination)


def test_a_deployment_without_a_policy_lifts_the_one_an_earlier_version_set(destination, make):
    runner.deploy(destination, make("lifted", template("lifted-a"), stack_policy=POLICY), log=quiet)
    runner.deploy(destination, make("lifted", template("lifted-a", visibility=40)), log=quiet)
    policy = destination.client("cloudformation").get_stack_policy(StackName="lifted-dev")
    assert json.loads(policy["StackPolicyBody"]) == runner.ALLOW_ALL


def test_every_stack_carries_its_repository_and_the_deployments_it_depends_on(destination, make):
    deployment = make(
        "tagged",
        template("tagged-t"),
        repository="shop",
        depends_on=("apps/base:deploy", "apps/greeter:prod@account=111111111111,region=eu-west-1"),
    )
    runner.deploy(destination, deployment, log=quiet)
    live = tags(destination, "tagged-dev")
    assert live["jiti:repository"] == "shop"
    assert live["jiti:depends-on"] == (
        "apps/base:deploy apps/greeter:prod@account=111111111111+region=eu-west-1"
    )


def test_notification_topics_are_given_to_the_stack(destination, make):
    topic = destination.client("sns").create_topic(Name="deploys")["TopicArn"]
    deployment = make("notified", template("notified-t"), notification_arns=(topic,))
    runner.deploy(destination, deployment, log=quiet)
    assert stack(destination, "notified-dev")["NotificationARNs"] == [topic]


def test_the_report_and_the_plan_hold_every_change_set_property_by_property(
    destination, make, tmp_path
):
    """A dry run of many deployments: each row of the report has its change set's changes;
    the Markdown plan shows them, replacements first, and the gate's refusal."""
    runner.deploy(destination, make("guard-planned", template("guard-planned-a")), log=quiet)
    deployments = [
        make("guard-planned", template("guard-planned-b", visibility=45)),
        make("guard-fresh", template("guard-fresh-t")),
    ]
    outcomes = batch.run(
        _destinations(destination),
        deployments,
        dry_run=True,
        max_parallel=2,
        log=quiet,
        fail_on_replace=STATEFUL_TYPES,
    )
    by_stack = {o.stack: o for o in outcomes}
    planned, fresh = by_stack["guard-planned-dev"], by_stack["guard-fresh-dev"]
    assert planned.result is Result.BLOCKED and fresh.result is Result.DRY_RUN
    table_change = next(c for c in planned.changes if c["logical_id"] == "Table")
    assert table_change["replacement"] == "True"
    assert table_change["details"] == [
        {
            "attribute": "Properties",
            "name": "TableName",
            "requires_recreation": "Always",
            "change_source": "DirectModification",
            "evaluation": "Static",
            "before": "guard-planned-a",
            "after": "guard-planned-b",
        }
    ]
    assert {(c["action"], c["logical_id"]) for c in fresh.changes} == {
        ("Add", "Queue"),
        ("Add", "Table"),
    }
    markdown = plan_markdown.render(outcomes, dry_run=True)
    assert markdown.startswith("## jiti plan (dry run)\n")
    assert "| `apps/guard-planned:deploy` | guard-planned-dev |" in markdown
    assert "**blocked: would replace or delete data**" in markdown
    assert (
        "| Modify | Table | AWS::DynamoDB::Table | **True** | "
        "TableName: `guard-planned-a` → `guard-planned-b` (replaces) |"
    ) in markdown
    assert "2 to add" in markdown


class _destinations:
    """Destinations that are all this one (the batch asks by account and region)."""

    def __init__(self, destination):
        self.destination = destination

    def get(self, account, region, role):
        return self.destination
