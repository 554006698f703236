"""Read-only plans against the local AWS: stacks deployed by the real runner, then planned
without a change set, as CloudFormation's change sets would list the changes."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest
from jiti_aws_proxy import is_read

from jiti_contract import Input, StackPlace
from jiti_deploy import batch, iam_calls, local_aws, plan_mode, plan_output, runner
from jiti_deploy.assets_test import function_stack
from jiti_deploy.destinations import Destinations
from jiti_deploy.report import Result
from jiti_deploy.testutil import quiet, table

PROXY_REGION = "eu-west-2"  # the proxy fixture's region
ACCOUNT = "123456789012"  # the account the local AWS serves


@pytest.fixture
def destinations(endpoint, tmp_path, monkeypatch) -> Destinations:
    monkeypatch.setattr(
        local_aws, "ensure_running", lambda state_dir, log=print: local_aws.LocalAws(endpoint, 0)
    )
    return Destinations("local", Path(tmp_path), log=quiet)


def app(name: str, visibility: int = 30, table_name: str | None = None, **extra) -> dict:
    """A queue, a table and a wait condition handle (which takes no tags)."""
    return {
        "Resources": {
            "Jobs": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": visibility}},
            "Orders": table(table_name or f"{name}-orders", "Delete"),
            "Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"},
        },
        **extra,
    }


def deployed(destination, make, name: str, template: dict, **plan):
    assert runner.deploy(destination, make(name, template, **plan), log=quiet) is Result.DEPLOYED


def planned(destinations, deployment) -> dict:
    (entry,) = plan_mode.run(destinations, [deployment], log=quiet)
    assert entry["error"] is None
    return entry


def summary(entry: dict) -> list[tuple]:
    return [
        (
            c["logical_id"],
            c["action"],
            c["replacement"],
            c["scope"],
            [(d["property"], d["replacement"]) for d in c["details"]],
        )
        for c in entry["changes"]
    ]


def test_a_property_change_modifies_and_a_create_only_one_replaces(destination, destinations, make):
    deployed(destination, make, "pl-props", app("pl-props"))
    entry = planned(destinations, make("pl-props", app("pl-props", 45, "pl-props-orders-2")))
    assert entry["status"] == "changes"
    assert summary(entry) == [
        ("Jobs", "Modify", "False", ["Properties"], [("VisibilityTimeout", "Never")]),
        ("Orders", "Modify", "True", ["Properties"], [("TableName", "Always")]),
    ]
    (jobs,) = [c for c in entry["changes"] if c["logical_id"] == "Jobs"]
    assert (jobs["details"][0]["before"], jobs["details"][0]["after"]) == ("30", "45")
    live = entry["live"]
    assert live["stack_id"].startswith("arn:") and live["last_updated"] and live["version"]


def test_a_version_only_change_lists_no_resource(destination, destinations, make):
    deployed(destination, make, "pl-version", app("pl-version"))
    newer = make("pl-version", app("pl-version", Outputs={"Built": {"Value": "again"}}))
    entry = planned(destinations, newer)
    assert (entry["status"], entry["changes"]) == ("changes", [])
    assert entry["new_version"] == newer.version != entry["live"]["version"]


def test_an_asset_that_stays_keeps_its_object_version_and_a_new_one_s_is_pending(
    destination, destinations, make
):
    """The function's code is the same zip: the plan takes the S3 object version the live stack
    pins, as the deploy does, so a new version of the stack alone lists no resource."""
    code = {"apps/pl-asset:lambda": b"the same code"}
    template = function_stack(hashlib.sha256(b"the same code").hexdigest(), function="pl-asset")
    first = make("pl-asset", template, code, capabilities=("CAPABILITY_IAM",))
    assert runner.deploy(destination, first, log=quiet) is Result.DEPLOYED
    template["Outputs"] = {"Built": {"Value": "again"}}
    entry = planned(
        destinations, make("pl-asset", template, code, capabilities=("CAPABILITY_IAM",))
    )
    assert (entry["status"], entry["changes"]) == ("changes", [])

    new_code = {"apps/pl-asset:lambda": b"new code"}
    template = function_stack(hashlib.sha256(b"new code").hexdigest(), function="pl-asset")
    entry = planned(
        destinations, make("pl-asset", template, new_code, capabilities=("CAPABILITY_IAM",))
    )
    ((fn, (code_change,)),) = [(c["logical_id"], c["details"]) for c in entry["changes"]]
    after = json.loads(code_change["after"])
    assert (fn, after["S3ObjectVersion"]) == ("Fn", "(known once deployed)")  # not uploaded
    assert after["S3Key"] == f"assets/{hashlib.sha256(b'new code').hexdigest()}.zip"


def test_the_same_version_is_unchanged(destination, destinations, make):
    deployed(destination, make, "pl-same", app("pl-same"))
    entry = planned(destinations, make("pl-same", app("pl-same")))
    assert (entry["status"], entry["changes"]) == ("unchanged", [])


def test_a_stack_tag_change_modifies_every_taggable_resource(destination, destinations, make):
    deployed(destination, make, "pl-tags", app("pl-tags"), tags={"team": "a"})
    entry = planned(destinations, make("pl-tags", app("pl-tags"), tags={"team": "b"}))
    assert summary(entry) == [
        ("Jobs", "Modify", "False", ["Tags"], [("Tags", "Never")]),
        ("Orders", "Modify", "False", ["Tags"], [("Tags", "Never")]),
    ]


def test_a_new_stack_adds_every_resource(destinations, make):
    entry = planned(destinations, make("pl-new", app("pl-new")))
    assert (entry["status"], entry["live"]) == ("new", None)
    assert [(c["logical_id"], c["action"]) for c in entry["changes"]] == [
        ("Handle", "Add"),
        ("Jobs", "Add"),
        ("Orders", "Add"),
    ]


PRODUCER = {
    "Parameters": {"Colour": {"Type": "String"}},
    "Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 30}}},
    "Outputs": {"Url": {"Value": {"Ref": "Q"}}, "Colour": {"Value": {"Ref": "Colour"}}},
}
CONSUMER = {
    "Parameters": {"Url": {"Type": "String"}, "Colour": {"Type": "String"}},
    "Resources": {
        "Inbox": {
            "Type": "AWS::SQS::Queue",
            "Properties": {"Tags": [{"Key": "colour", "Value": {"Ref": "Colour"}}]},
        }
    },
    "Outputs": {"Seen": {"Value": {"Ref": "Url"}}},
}
READ_ONLY_ACTIONS = {
    "cloudformation:DescribeStacks",
    "cloudformation:GetTemplate",
    "cloudformation:DescribeType",
    "ssm:GetParameters",
}


def pair(make, colour: str, visibility: int, queue: str = "queue-1", name: str = "pl") -> list:
    """A producer of a queue and a consumer of its URL and colour; `queue` is the queue's name
    (create-only: a new one replaces the queue)."""
    producer_place = StackPlace(
        f"apps/{name}-producer:deploy", f"{name}-producer-dev", region=PROXY_REGION
    )
    producer = json.loads(json.dumps(PRODUCER))
    producer["Resources"]["Q"]["Properties"]["VisibilityTimeout"] = visibility
    producer["Resources"]["Q"]["Properties"]["QueueName"] = f"{name}-{queue}"
    return [
        make(f"{name}-producer", producer, parameters={"Colour": colour}, region=PROXY_REGION),
        make(
            f"{name}-consumer",
            CONSUMER,
            region=PROXY_REGION,
            inputs=(
                Input("Url", producer=producer_place, output="Url"),
                Input("Colour", producer=producer_place, output="Colour"),
            ),
            depends_on=(producer_place.address,),
        ),
    ]


def test_a_plan_makes_only_read_calls_and_takes_a_changing_producer_s_known_outputs(
    proxy, make, tmp_path
):
    aws = Destinations("aws", tmp_path, log=quiet)
    outcomes = batch.run(aws, pair(make, "red", 30), dry_run=False, max_parallel=2, log=quiet)
    assert {o.result for o in outcomes} == {Result.DEPLOYED}

    proxy.calls.clear()
    producer, consumer = plan_mode.run(aws, pair(make, "blue", 45, "queue-2"), log=quiet)
    calls = list(proxy.calls)

    assert [c["logical_id"] for c in producer["changes"]] == ["Q"]
    assert consumer["pending_inputs"] == [
        {
            "parameter": "Url",
            "reason": "apps/pl-producer:deploy changes in this plan; its output Url is known "
            "once it is deployed",
        }
    ]
    ((inbox, (tags,)),) = [(c["logical_id"], c["details"]) for c in consumer["changes"]]
    assert (inbox, tags["property"], tags["change_source"]) == (
        "Inbox",
        "Tags",
        "ParameterReference",
    )
    assert "blue" in tags["after"] and "red" in tags["before"]

    assert calls and all(is_read(c.operation) for c in calls)
    recording = iam_calls.Recording(ACCOUNT, PROXY_REGION)
    actions = {need.action for c in calls for need in recording.needs(c)}
    assert (
        {"cloudformation:GetTemplate", "cloudformation:DescribeType"}
        <= actions
        <= READ_ONLY_ACTIONS
    )
    assert not any(c.operation.startswith("s3:") for c in calls)


def test_a_producer_s_output_stays_known_while_its_resource_keeps_its_physical_id(
    destinations, make
):
    """Q is modified without replacement: its `Ref` (the queue's URL) stays the live output, so
    the consumer takes it and, as nothing it takes changes, does not change."""
    first = pair(make, "red", 30, name="kept")
    outcomes = batch.run(destinations, first, dry_run=False, max_parallel=2, log=quiet)
    assert {o.result for o in outcomes} == {Result.DEPLOYED}
    producer, consumer = plan_mode.run(destinations, pair(make, "red", 45, name="kept"), log=quiet)
    assert [(c["logical_id"], c["replacement"]) for c in producer["changes"]] == [("Q", "False")]
    assert (consumer["status"], consumer["pending_inputs"]) == ("unchanged", [])


def test_no_echo_values_are_never_shown(destination, destinations, make, tmp_path):
    template = {
        "Parameters": {"Token": {"Type": "String", "NoEcho": True}},
        "Resources": {
            "Q": {
                "Type": "AWS::SQS::Queue",
                "Properties": {"Tags": [{"Key": "token", "Value": {"Ref": "Token"}}]},
            }
        },
    }
    deployed(destination, make, "pl-secret", template, parameters={"Token": "first-s3cret"})
    entry = planned(destinations, make("pl-secret", template, parameters={"Token": "next-s3cret"}))
    ((change_id, (tags,)),) = [(c["logical_id"], c["details"]) for c in entry["changes"]]
    assert (change_id, tags["property"], tags["change_source"]) == (
        "Q",
        "Tags",
        "ParameterReference",
    )
    plan_output.write_json(tmp_path / "plan.json", [entry])
    shown = (tmp_path / "plan.json").read_text() + plan_output.markdown([entry])
    assert "s3cret" not in shown and "****" in shown


def test_what_a_deploy_would_refuse_fails_the_plan_of_that_deployment_only(destinations, make):
    reserved = app("pl-reserved", Outputs={"JitiVersion": {"Value": "mine"}})
    bad, good = plan_mode.run(
        destinations, [make("pl-reserved", reserved), make("pl-fine", app("pl-fine"))], log=quiet
    )
    assert bad["status"] == "failed" and "a name jiti keeps for its own record" in bad["error"]
    assert good["status"] == "new"


def test_many_changed_stacks_cost_one_listing_a_template_each_and_one_schema_per_type(
    proxy, make, tmp_path
):
    """Planning is as batched as deploying: one paginated DescribeStacks per account and
    region, one GetTemplate per changed stack, nothing for an unchanged one, and each resource
    type's schema read once however many plans run in parallel (AWS calls take time: here
    50 ms each, so the parallel plans reach the registry together)."""
    aws = Destinations("aws", tmp_path, log=quiet)
    names = [f"pl-many-{i}" for i in range(8)]

    def queues(visibility: int) -> list:
        return [
            make(
                n,
                {
                    "Resources": {
                        "Q": {
                            "Type": "AWS::SQS::Queue",
                            "Properties": {
                                "VisibilityTimeout": visibility if n != names[0] else 30
                            },
                        }
                    }
                },
                region=PROXY_REGION,
            )
            for n in names
        ]

    outcomes = batch.run(aws, queues(30), dry_run=False, max_parallel=4, log=quiet)
    assert {o.result for o in outcomes} == {Result.DEPLOYED}
    cfn = aws.get(None, PROXY_REGION, None).client("cloudformation")
    pages = len(list(cfn.get_paginator("describe_stacks").paginate()))

    proxy.calls.clear()
    proxy.latency_s = 0.05
    entries = plan_mode.run(aws, queues(45), max_parallel=4, log=quiet)
    proxy.latency_s = 0.0
    counts = Counter(c.operation for c in proxy.calls)

    assert [e["status"] for e in entries] == ["unchanged"] + ["changes"] * 7
    assert counts["cloudformation:DescribeStacks"] == pages
    assert counts["cloudformation:GetTemplate"] == 7
    assert counts["cloudformation:DescribeType"] == 1
