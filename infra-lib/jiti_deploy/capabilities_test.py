"""A deployment acknowledges only the capabilities its template needs, as the CreateChangeSet API
reference's `Capabilities` text says them: `CAPABILITY_IAM` for IAM resources,
`CAPABILITY_NAMED_IAM` when one has a custom name, `CAPABILITY_AUTO_EXPAND` for macros."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

import boto3
import pytest
from botocore.stub import ANY, Stubber

from jiti_contract import Manifest, Plan
from jiti_deploy import capabilities, runner
from jiti_deploy.deployment import Deployment
from jiti_deploy.destinations import CLIENT_CONFIG, Destination
from jiti_deploy.errors import DeployError
from jiti_deploy.report import Result
from jiti_deploy.testutil import quiet

ACCOUNT, REGION, STACK = "123456789012", "us-east-1", "caps-dev"
STACK_ID = (
    f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK}/8c3e6f90-07a1-11ef-9b1e-0a1b2c3d4e5f"
)
CHANGE_SET_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:changeSet/jiti-1/5d2a0c44-5b1e-4a8e-9a77-3f0e1d2c3b4a"
EVERY = ("CAPABILITY_AUTO_EXPAND", "CAPABILITY_IAM", "CAPABILITY_NAMED_IAM")  # the field's default
QUEUE = {"Q": {"Type": "AWS::SQS::Queue"}}
TRUST = {"Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}]}
ROLE = {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": TRUST}}
NAMED_ROLE = {"Type": "AWS::IAM::Role", "Properties": {**ROLE["Properties"], "RoleName": "x"}}
POLICY = {"Type": "AWS::IAM::Policy", "Properties": {"PolicyName": "p", "PolicyDocument": {}}}


def make(tmp_path, template: dict, allowed=EVERY) -> Deployment:
    text = json.dumps(template, sort_keys=True)
    (tmp_path / "stack.template.json").write_text(text)
    manifest = Manifest(
        address="apps/caps:stack",
        app="caps",
        version=hashlib.sha256(text.encode()).hexdigest(),
        template="stack.template.json",
        template_sha256=hashlib.sha256(text.encode()).hexdigest(),
        assets=(),
        parameters={},
        tags={},
        description=None,
    )
    plan = Plan(
        address="apps/caps:deploy",
        name="deploy",
        app="caps",
        stack_name=STACK,
        environment="dev",
        manifest="stack.manifest.json",
        capabilities=allowed,
    )
    return Deployment(plan, manifest, tmp_path / "stack.manifest.json")


@pytest.mark.parametrize(
    "resources, expected",
    [
        (QUEUE, ()),
        (
            {**QUEUE, "Role": ROLE, "Policy": POLICY},
            ("CAPABILITY_IAM",),
        ),  # PolicyName: no custom name
        ({"Role": ROLE, "Named": NAMED_ROLE}, ("CAPABILITY_NAMED_IAM",)),
        (
            {"Group": {"Type": "AWS::IAM::Group", "Properties": {"GroupName": "g"}}},
            ("CAPABILITY_NAMED_IAM",),
        ),
    ],
)
def test_what_a_template_needs(resources, expected):
    assert capabilities.needed({"Resources": resources}) == expected


def test_a_macro_or_nested_stack_leaves_it_to_cloudformation():
    """Their final resources are known only once CloudFormation expands them."""
    assert (
        capabilities.needed({"Transform": "AWS::Serverless-2016-10-31", "Resources": QUEUE}) is None
    )
    inline = {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"Fn::Transform": {"Name": "M"}}}}
    assert capabilities.needed({"Resources": inline}) is None
    nested = {"N": {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": "u"}}}
    assert capabilities.needed({"Resources": nested}) is None


def stubbed(monkeypatch) -> dict[str, Stubber]:
    session = boto3.Session(region_name=REGION, aws_access_key_id="k", aws_secret_access_key="s")
    clients = {s: session.client(s, config=CLIENT_CONFIG) for s in ("cloudformation", "sts")}
    monkeypatch.setattr(Destination, "client", lambda _, service: clients[service])
    stubs = {s: Stubber(c) for s, c in clients.items()}
    for stub in stubs.values():
        stub.activate()
    return stubs


def dry_run_of_a_new_stack(stubs: dict[str, Stubber], acknowledged: list[str]) -> None:
    """What CloudFormation answers a dry run of a new stack, expecting `acknowledged`."""
    t0 = datetime(2024, 5, 1, tzinfo=timezone.utc)
    stubs["sts"].add_response(
        "get_caller_identity",
        {"UserId": "AIDAEXAMPLE", "Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/ci"},
    )
    cfn = stubs["cloudformation"]
    expected = {
        "StackName": STACK,
        "ChangeSetName": ANY,
        "ChangeSetType": "CREATE",
        "Parameters": [],
        "Tags": ANY,
        "Capabilities": acknowledged,
        "TemplateBody": ANY,
    }
    cfn.add_response("create_change_set", {"Id": CHANGE_SET_ID, "StackId": STACK_ID}, expected)
    described = {
        "ChangeSetId": CHANGE_SET_ID,
        "StackId": STACK_ID,
        "StackName": STACK,
        "CreationTime": t0,
        "ExecutionStatus": "AVAILABLE",
        "Status": "CREATE_COMPLETE",
        "Changes": [],
    }
    cfn.add_response("describe_change_set", described)  # the waiter
    cfn.add_response("describe_change_set", described)  # the changes
    cfn.add_response("delete_change_set", {}, {"ChangeSetName": CHANGE_SET_ID})
    cfn.add_response("delete_stack", {}, {"StackName": STACK_ID})


@pytest.mark.parametrize(
    "resources, acknowledged",
    [
        (QUEUE, []),
        ({"Role": ROLE}, ["CAPABILITY_IAM"]),
        ({"Role": NAMED_ROLE}, ["CAPABILITY_NAMED_IAM"]),
    ],
)
def test_the_change_set_acknowledges_only_what_the_template_needs(
    monkeypatch, tmp_path, resources, acknowledged
):
    """The `capabilities` field allows all three by default; the change set gets only what the
    template needs, so a template without named IAM resources or macros cannot gain them
    unnoticed."""
    stubs = stubbed(monkeypatch)
    dry_run_of_a_new_stack(stubs, acknowledged)
    destination = Destination(boto3.Session(region_name=REGION), None, local=False)
    deployment = make(tmp_path, {"Resources": resources})
    assert runner.deploy(destination, deployment, dry_run=True, current=None, log=quiet) is (
        Result.DRY_RUN
    )
    for stub in stubs.values():
        stub.assert_no_pending_responses()


def test_a_template_needing_more_than_the_field_allows_is_refused_before_any_call(
    monkeypatch, tmp_path
):
    stubs = stubbed(monkeypatch)  # no answer: any call fails the test
    destination = Destination(boto3.Session(region_name=REGION), None, local=False)
    deployment = make(tmp_path, {"Resources": {"Role": NAMED_ROLE}}, allowed=("CAPABILITY_IAM",))
    with pytest.raises(DeployError) as refused:
        runner.deploy(destination, deployment, current=None, log=quiet)
    assert str(refused.value) == (
        "apps/caps:deploy: field `capabilities`: the template needs CAPABILITY_NAMED_IAM, which "
        "the field does not allow (it allows CAPABILITY_IAM)"
    )
    assert stubs  # nothing was answered, and nothing was asked
