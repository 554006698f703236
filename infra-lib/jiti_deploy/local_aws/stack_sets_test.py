"""Fix 17 of `fidelity`: StackSet updates reach the instances' stacks, overrides kept (the local
AWS, patched, in this process), and moto on its own still leaves them alone (plain moto in a
fresh interpreter, since `fidelity.apply()` patches moto's classes for good)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import boto3
import pytest

from jiti_deploy import local_aws

ACCOUNT = "123456789012"  # the account moto serves for any credentials
TEMPLATE = {
    "Parameters": {"Greeting": {"Type": "String"}, "Bucket": {"Type": "String"}},
    "Resources": {"Q": {"Type": "AWS::SQS::Queue"}},
}
WITH_OUTPUT = {**TEMPLATE, "Outputs": {"Said": {"Value": {"Ref": "Greeting"}}}}


def values(**kwargs) -> list[dict]:
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in kwargs.items()]


@pytest.fixture
def clients(endpoint):
    """CloudFormation in each region the test uses."""
    return {
        region: boto3.client(
            "cloudformation", region_name=region, endpoint_url=endpoint, **local_aws.CREDENTIALS
        )
        for region in ("us-east-1", "eu-west-1", "ap-south-1")
    }


def instance_stack(cfn, stack_set: str) -> dict:
    """The stack of the StackSet's instance in `cfn`'s region: its parameters and outputs
    (on any page: the session's other tests leave stacks in the region too)."""
    (stack,) = [
        s
        for page in cfn.get_paginator("describe_stacks").paginate()
        for s in page["Stacks"]
        if s["StackName"].startswith(f"StackSet-{stack_set}-")
    ]
    return {
        "parameters": {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]},
        "outputs": {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])},
    }


def test_stack_set_updates_reach_the_instances_and_keep_their_overrides(clients):
    cfn = clients["us-east-1"]
    cfn.create_stack_set(
        StackSetName="fid-set",
        TemplateBody=json.dumps(TEMPLATE),
        Parameters=values(Greeting="hello", Bucket="b-set"),
    )
    for region in ("us-east-1", "eu-west-1"):
        cfn.create_stack_instances(
            StackSetName="fid-set",
            Accounts=[ACCOUNT],
            Regions=[region],
            ParameterOverrides=values(Bucket=f"b-{region}"),
        )
    assert instance_stack(clients["eu-west-1"], "fid-set")["parameters"] == {
        "Greeting": "hello",
        "Bucket": "b-eu-west-1",
    }

    cfn.update_stack_set(
        StackSetName="fid-set",
        TemplateBody=json.dumps(WITH_OUTPUT),
        Parameters=values(Greeting="bye", Bucket="b-set"),
    )
    for region in ("us-east-1", "eu-west-1"):
        assert instance_stack(clients[region], "fid-set") == {
            "parameters": {"Greeting": "bye", "Bucket": f"b-{region}"},
            "outputs": {"Said": "bye"},
        }

    # An empty override list sets every value back to the StackSet's.
    cfn.update_stack_instances(
        StackSetName="fid-set", Accounts=[ACCOUNT], Regions=["eu-west-1"], ParameterOverrides=[]
    )
    assert instance_stack(clients["eu-west-1"], "fid-set")["parameters"]["Bucket"] == "b-set"
    described = cfn.describe_stack_instance(
        StackSetName="fid-set", StackInstanceAccount=ACCOUNT, StackInstanceRegion="eu-west-1"
    )
    assert described["StackInstance"].get("ParameterOverrides", []) == []

    # An instance added after the update gets the StackSet's template of now.
    cfn.create_stack_instances(StackSetName="fid-set", Accounts=[ACCOUNT], Regions=["ap-south-1"])
    assert instance_stack(clients["ap-south-1"], "fid-set")["outputs"] == {"Said": "bye"}


# moto names an instance's stack `StackSet:<name>`, invalid in a queue name (gap 4): name it.
NAMED_QUEUE = {
    **TEMPLATE,
    "Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "gap-q"}}},
}
GAP = """
import json, sys
import boto3, moto
templates = json.loads(sys.argv[1])
moto.mock_aws().start()
cfn = boto3.client("cloudformation", region_name="us-east-1")
values = lambda **kw: [{"ParameterKey": k, "ParameterValue": v} for k, v in kw.items()]
def parameters():
    (stack,) = cfn.describe_stacks()["Stacks"]
    return {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
result = {}
cfn.create_stack_set(StackSetName="set", TemplateBody=json.dumps(templates["plain"]),
                     Parameters=values(Greeting="hello", Bucket="b-set"))
try:
    cfn.create_stack_instances(StackSetName="set", Accounts=["123456789012"],
                               Regions=["us-east-1"], ParameterOverrides=values(Bucket="b-here"))
except Exception as e:
    result["created with an override"] = str(e)
cfn.create_stack_instances(StackSetName="set", Accounts=["123456789012"], Regions=["us-east-1"])
cfn.update_stack_set(StackSetName="set", TemplateBody=json.dumps(templates["plain"]),
                     Parameters=values(Greeting="bye", Bucket="b-set"))
result["updated"] = parameters()
cfn.update_stack_instances(StackSetName="set", Accounts=["123456789012"], Regions=["us-east-1"],
                           ParameterOverrides=values(Bucket="b-new"))
result["overridden"] = parameters()
print(json.dumps(result))
"""


def test_moto_still_leaves_the_instances_alone():
    """Gap 16: an instance created with an override lacks the StackSet's other values, and an
    instance's stack keeps its first values through UpdateStackSet and UpdateStackInstances."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        PYTHONPATH=os.pathsep.join(
            p for p in sys.path if p
        ),  # a Pants sandbox has no site-packages
    )
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(GAP), json.dumps({"plain": NAMED_QUEUE})],
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result == {
        "created with an override": "An error occurred (ValidationError) when calling the "
        "CreateStackInstances operation: Missing parameter Greeting",
        "updated": {"Greeting": "hello", "Bucket": "b-set"},
        "overridden": {"Greeting": "hello", "Bucket": "b-set"},
    }
