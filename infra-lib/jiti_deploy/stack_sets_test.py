"""StackSets mode against what only real AWS shows (moto runs one StackSet operation at a time
to its end at once, and ignores operation preferences): a boto3 CloudFormation client answered
by a botocore Stubber, with responses shaped as the CloudFormation API reference says. The
assets are staged without S3 (the template is small, and declares no assets bucket)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import datetime, timezone

import boto3
import pytest
from botocore.stub import ANY, Stubber

from jiti_contract import Manifest, Plan, StackSetSettings
from jiti_deploy import stack_sets
from jiti_deploy.deployment import Deployment
from jiti_deploy.destinations import CLIENT_CONFIG, Destination
from jiti_deploy.errors import DeployError
from jiti_deploy.report import Result
from jiti_deploy.source import Source

REGION = "us-east-1"
ACCOUNT = "123456789012"
INSTANCE_ACCOUNTS = ("111111111111", "222222222222")
NAME = "fleet-dev"
STACK_SET_ID = f"{NAME}:6f2a1c3e-9b1d-4e7a-8c55-2d3e4f5a6b7c"
OPERATION_ID = "4f1b6a2e-3c5d-4e8f-9a0b-1c2d3e4f5a6b"
OPERATION = {"StackSetName": NAME, "OperationId": OPERATION_ID}
T0 = datetime(2024, 5, 1, 10, 0, 0, tzinfo=timezone.utc)
TEMPLATE = {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}
# What CloudFormation is asked for each operation: as many accounts at once as the field says,
# whatever the failure tolerance (StackSetOperationPreferences, ConcurrencyMode).
PREFERENCES = {
    "MaxConcurrentPercentage": 50,
    "FailureTolerancePercentage": 0,
    "RegionConcurrencyType": "PARALLEL",
    "ConcurrencyMode": "SOFT_FAILURE_TOLERANCE",
}


@pytest.fixture
def cfn(monkeypatch):
    """The Stubber answering the deployment's CloudFormation client."""
    session = boto3.Session(
        region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    client = session.client("cloudformation", config=CLIENT_CONFIG)
    monkeypatch.setattr(Destination, "client", lambda _, service: client)
    monkeypatch.setattr(stack_sets, "_stage_assets", lambda *_, **__: {REGION: "jiti-assets"})
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


@pytest.fixture
def target() -> Destination:
    session = boto3.Session(
        region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    destination = Destination(session, endpoint_url=None, local=True)
    destination.__dict__["account"] = ACCOUNT  # no STS call
    return destination


@pytest.fixture
def deployment(tmp_path) -> Deployment:
    template = json.dumps(TEMPLATE, sort_keys=True, indent=2) + "\n"
    (tmp_path / "stack.template.json").write_text(template)
    manifest = Manifest(
        address="apps/fleet:stack",
        app="fleet",
        version=hashlib.sha256(b"new").hexdigest(),
        template="stack.template.json",
        template_sha256=hashlib.sha256(template.encode()).hexdigest(),
        assets=(),
        parameters={},
        tags={},
        description=None,
    )
    (tmp_path / "stack.manifest.json").write_text(manifest.to_json())
    plan = Plan(
        address="apps/fleet:deploy",
        name="deploy",
        app="fleet",
        stack_name=NAME,
        environment="dev",
        manifest="stack.manifest.json",
        stack_set=StackSetSettings(INSTANCE_ACCOUNTS, (REGION,), 50, 0),
    )
    return Deployment(plan, manifest, tmp_path / "stack.manifest.json")


def described(deployment: Deployment, commit: dict | None = None) -> dict:
    """DescribeStackSet's answer: the StackSet this deployment made, at an older version (its
    record in its template's outputs, its owner in its tags), deployed from `commit`."""
    tags = {"jiti:app": "fleet", "jiti:env": "dev", "jiti:deployment": deployment.address}
    recorded = {
        "JitiVersion": hashlib.sha256(b"old").hexdigest(),
        "JitiConfig": deployment.config_hash(),
        **(commit or {}),
    }
    outputs = {k: {"Value": v} for k, v in recorded.items()}
    return {
        "StackSet": {
            "StackSetName": NAME,
            "StackSetId": STACK_SET_ID,
            "Status": "ACTIVE",
            "TemplateBody": json.dumps({**TEMPLATE, "Outputs": outputs}),
            "Parameters": [],
            "Capabilities": [],
            "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
            "StackSetARN": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stackset/{STACK_SET_ID}",
            "AdministrationRoleARN": f"arn:aws:iam::{ACCOUNT}:role/AWSCloudFormationStackSetAdministrationRole",
            "ExecutionRoleName": "AWSCloudFormationStackSetExecutionRole",
            "PermissionModel": "SELF_MANAGED",
        }
    }


def instances() -> dict:
    """ListStackInstances' answer: one CURRENT instance per account."""
    return {
        "Summaries": [
            {
                "StackSetId": STACK_SET_ID,
                "Region": REGION,
                "Account": account,
                "StackId": f"arn:aws:cloudformation:{REGION}:{account}:stack/StackSet-{NAME}-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
                "Status": "CURRENT",
                "StackInstanceStatus": {"DetailedStatus": "SUCCEEDED"},
                "DriftStatus": "NOT_CHECKED",
            }
            for account in INSTANCE_ACCOUNTS
        ]
    }


def instance(account: str) -> dict:
    """DescribeStackInstance's answer: no value overridden."""
    (summary,) = [s for s in instances()["Summaries"] if s["Account"] == account]
    return {"StackInstance": {**summary, "ParameterOverrides": []}}


def succeeded(action: str) -> dict:
    return {
        "StackSetOperation": {
            "OperationId": OPERATION_ID,
            "StackSetId": STACK_SET_ID,
            "Action": action,
            "Status": "SUCCEEDED",
            "OperationPreferences": PREFERENCES,
            "CreationTimestamp": T0,
            "EndTimestamp": T0,
        }
    }


def busy(cfn, operation: str) -> None:
    """OperationInProgressException (HTTP 409), as the API reference gives it for
    UpdateStackSet and CreateStackInstances: "Another operation is currently in progress for
    this StackSet. Only one operation can be performed for a stack set at a given time"."""
    cfn.add_client_error(
        operation,
        service_error_code="OperationInProgressException",
        service_message="Another Operation on StackSet arn:aws:cloudformation:us-east-1:"
        f"{ACCOUNT}:stackset/{STACK_SET_ID} is in progress",
        http_status_code=409,
    )


def expect_reads(cfn, deployment: Deployment) -> None:
    cfn.add_response("describe_stack_set", described(deployment), {"StackSetName": NAME})
    cfn.add_response("list_stack_instances", instances(), {"StackSetName": NAME})


def expect_update(cfn) -> None:
    cfn.add_response(
        "update_stack_set",
        {"OperationId": OPERATION_ID},
        {
            "StackSetName": NAME,
            "TemplateBody": ANY,
            "Parameters": [],
            "Tags": ANY,
            "Capabilities": [],
            "OperationPreferences": PREFERENCES,
        },
    )


def test_a_busy_stack_set_is_waited_for_then_updated(cfn, target, deployment):
    """Another operation runs on the StackSet (a second CI job): wait, with a message, read the
    StackSet again (still this deployment's, and no newer commit), then update it."""
    expect_reads(cfn, deployment)
    busy(cfn, "update_stack_set")
    cfn.add_response("describe_stack_set", described(deployment), {"StackSetName": NAME})
    expect_update(cfn)
    cfn.add_response("describe_stack_set_operation", succeeded("UPDATE"), OPERATION)
    for account in INSTANCE_ACCOUNTS:
        cfn.add_response(
            "describe_stack_instance",
            instance(account),
            {"StackSetName": NAME, "StackInstanceAccount": account, "StackInstanceRegion": REGION},
        )
    cfn.add_response("list_stack_instances", instances(), {"StackSetName": NAME})
    logged = []
    assert stack_sets.deploy(target, deployment, log=logged.append) is Result.DEPLOYED
    assert f"StackSet {NAME}: another operation runs on it; waiting up to 15 minutes" in logged


def test_a_newer_commit_deployed_while_waiting_is_not_replaced(cfn, target, deployment):
    """The operation waited for was another job deploying a newer commit: nothing is updated."""
    deployment = dataclasses.replace(deployment, source=Source("a" * 40, 1_900_000_000))
    expect_reads(cfn, deployment)
    busy(cfn, "update_stack_set")
    newer = described(deployment, {"JitiCommit": "b" * 40, "JitiCommitTime": "2000000000"})
    cfn.add_response("describe_stack_set", newer, {"StackSetName": NAME})
    with pytest.raises(DeployError, match=r"was deployed from commit bbbbbbbbbbbb, newer than"):
        stack_sets.deploy(target, deployment, log=lambda _: None)


def test_a_stack_set_busy_for_too_long_is_refused(cfn, target, deployment, monkeypatch):
    monkeypatch.setattr(stack_sets, "BUSY_WAIT_S", 0)
    expect_reads(cfn, deployment)
    busy(cfn, "update_stack_set")
    with pytest.raises(DeployError, match=f"StackSet {NAME}: another operation still runs on it"):
        stack_sets.deploy(target, deployment, log=lambda _: None)


def test_new_instances_wait_for_a_busy_stack_set_and_roll_out_at_full_concurrency(
    cfn, target, deployment
):
    """A new StackSet: its instances are created at the concurrency the field says (with
    STRICT_FAILURE_TOLERANCE, CloudFormation's default, a failure tolerance of 0 would make it
    one account at a time: StackSetOperationPreferences, ConcurrencyMode)."""
    cfn.add_client_error(
        "describe_stack_set",
        service_error_code="StackSetNotFoundException",
        service_message=f"StackSet {NAME} not found",
        http_status_code=404,
    )
    cfn.add_response("create_stack_set", {"StackSetId": STACK_SET_ID})
    busy(cfn, "create_stack_instances")
    cfn.add_response("describe_stack_set", described(deployment), {"StackSetName": NAME})
    cfn.add_response(
        "create_stack_instances",
        {"OperationId": OPERATION_ID},
        {
            "StackSetName": NAME,
            "Accounts": list(INSTANCE_ACCOUNTS),
            "Regions": [REGION],
            "OperationPreferences": PREFERENCES,
        },
    )
    cfn.add_response("describe_stack_set_operation", succeeded("CREATE"), OPERATION)
    cfn.add_response("list_stack_instances", instances(), {"StackSetName": NAME})
    assert stack_sets.deploy(target, deployment, log=lambda _: None) is Result.DEPLOYED
