"""Read-only plans against the local AWS: stacks deployed by the real runner, then planned
without a change set, as CloudFormation's change sets would list the changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jiti_deploy import local_aws, plan_mode, runner
from jiti_deploy.destinations import Destinations
from jiti_deploy.report import Result
from jiti_deploy.testutil import quiet, table


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
