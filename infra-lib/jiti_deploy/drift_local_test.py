"""Drift against the local AWS: a stack changed out of band is reported, property by property,
and the run exits non-zero; a stack as deployed is in sync; one never deployed says so."""

from __future__ import annotations

import json

import pytest

from jiti_contract import Inventory, StackPlace, to_json
from jiti_deploy import drift, output, runner
from jiti_deploy.__main__ import main
from jiti_deploy.destinations import Destinations
from jiti_deploy.local_aws import LocalAws
from jiti_deploy.report import Result
from jiti_deploy.testutil import quiet


@pytest.fixture
def use_local_aws(endpoint, monkeypatch):
    monkeypatch.setattr(
        "jiti_deploy.local_aws.ensure_running",
        lambda state_dir, log=print: LocalAws(endpoint=endpoint, pid=0),
    )


def queue_stack(name: str) -> dict:
    return {
        "Resources": {
            "Orders": {
                "Type": "AWS::SQS::Queue",
                "Properties": {"QueueName": f"{name}-orders", "VisibilityTimeout": 60},
            }
        }
    }


def test_a_queue_changed_out_of_band_is_reported_and_fails_the_run(
    destination, make, tmp_path, use_local_aws, capsys
):
    for name in ("d-changed", "d-same"):
        runner.deploy(destination, make(name, queue_stack(name)), log=quiet)
    sqs = destination.client("sqs")
    url = sqs.get_queue_url(QueueName="d-changed-orders")["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "5"})

    places = (
        StackPlace("apps/d-changed:deploy", "d-changed-dev"),
        StackPlace("apps/d-same:deploy", "d-same-dev"),
        StackPlace("apps/d-never:deploy", "d-never-dev"),
    )
    outcomes = drift.run(Destinations("local", tmp_path), places, max_parallel=3, log=quiet)
    by_stack = {o.stack: o for o in outcomes}
    assert {s: o.result for s, o in by_stack.items()} == {
        "d-changed-dev": Result.DRIFTED,
        "d-same-dev": Result.IN_SYNC,
        "d-never-dev": Result.NOT_DEPLOYED,
    }
    (orders,) = by_stack["d-changed-dev"].drift
    assert (orders["logical_id"], orders["resource_type"], orders["status"]) == (
        "Orders",
        "AWS::SQS::Queue",
        "MODIFIED",
    )
    assert orders["properties"] == [
        {"path": "/VisibilityTimeout", "expected": "60", "actual": "5", "difference": "NOT_EQUAL"}
    ]
    text = drift.summary(outcomes, 1.0)
    assert "d-changed-dev: Orders (AWS::SQS::Queue) MODIFIED" in text
    assert "/VisibilityTimeout: expected 60, actual 5 (NOT_EQUAL)" in text

    # The same through the command line: the report, and a non-zero exit.
    inventory = tmp_path / "inventory.json"
    inventory.write_text(to_json(Inventory("drift-test", places[:2])))
    report = tmp_path / "drift-report.json"
    argv = ["--mode", "drift", "--inventory", str(inventory), "--report", str(report)]
    assert main([*argv, "--state-dir", str(tmp_path / "state")]) == 1
    assert output.flushed(timeout_s=5)
    rows = {r["stack"]: r for r in json.loads(report.read_text())["stacks"]}
    assert rows["d-changed-dev"]["result"] == "drifted"
    assert rows["d-changed-dev"]["drift"][0]["properties"][0]["actual"] == "5"
    assert rows["d-same-dev"]["result"] == "in sync"
    assert "drifted: 1" in capsys.readouterr().out


def test_a_property_built_from_a_no_echo_parameter_drifts_without_its_values(
    destination, make, tmp_path, use_local_aws
):
    """The drift report knows no secret values (it builds nothing): a drifted property that
    the template builds from a NoEcho parameter shows `****` expected and actual."""
    template = {
        "Parameters": {"DbPassword": {"Type": "String", "NoEcho": "true"}},
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {"AssumeRolePolicyDocument": {"Statement": []}},
            },
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "FunctionName": "d-secret-fn",
                    "Runtime": "python3.11",
                    "Handler": "index.handler",
                    "MemorySize": 256,
                    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                    "Code": {"ZipFile": "def handler(event, context): pass"},
                    "Environment": {"Variables": {"DB_PASSWORD": {"Ref": "DbPassword"}}},
                },
            },
        },
    }
    deployment = make(
        "d-secret",
        template,
        parameters={"DbPassword": "drift-s3cret"},
        capabilities=("CAPABILITY_IAM",),
    )
    runner.deploy(destination, deployment, log=quiet)
    destination.client("lambda").update_function_configuration(
        FunctionName="d-secret-fn",
        MemorySize=512,
        Environment={"Variables": {"DB_PASSWORD": "changed-out-of-band"}},
    )

    places = (StackPlace("apps/d-secret:deploy", "d-secret-dev"),)
    (outcome,) = drift.run(Destinations("local", tmp_path), places, max_parallel=1, log=quiet)
    shown = {p["path"]: (p["expected"], p["actual"]) for p in outcome.drift[0]["properties"]}
    assert shown == {
        "/MemorySize": ("256", "512"),
        "/Environment/Variables/DB_PASSWORD": ("****", "****"),
    }
    assert "drift-s3cret" not in json.dumps(outcome.drift) + drift.summary([outcome], 1.0)
