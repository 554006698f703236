"""Fix 26 (`ssm_parameters.py`): an SSM parameter without a `Name` is named by CloudFormation,
keeps its name when its value is updated, and goes with its stack; plain moto still fails to
create it. Source: the AWS::SSM::Parameter resource reference (`Name`: Required: No; Update
requires: Replacement, so changing `Value` alone keeps the parameter; `Ref` returns its name)."""

from __future__ import annotations

import json
import subprocess
import sys

import boto3

from jiti_deploy import local_aws
from jiti_deploy.local_aws.fidelity_test import NO_RETRIES, REGION, execute, local_cfn


def template(value: str) -> dict:
    return {
        "Resources": {
            "Setting": {
                "Type": "AWS::SSM::Parameter",
                "Properties": {"Type": "String", "Value": value},
            }
        },
        "Outputs": {"Name": {"Value": {"Ref": "Setting"}}},
    }


def test_a_parameter_without_a_name_is_named_and_keeps_its_name(endpoint):
    cfn = local_cfn(endpoint)
    ssm = boto3.client(
        "ssm", region_name=REGION, endpoint_url=endpoint, config=NO_RETRIES, **local_aws.CREDENTIALS
    )
    created = execute(cfn, "unnamed-setting", template("one"), "CREATE")
    assert created["StackStatus"] == "CREATE_COMPLETE"
    (name,) = [o["OutputValue"] for o in created["Outputs"] if o["OutputKey"] == "Name"]
    assert name and ssm.get_parameter(Name=name)["Parameter"]["Value"] == "one"

    updated = execute(cfn, "unnamed-setting", template("two"), "UPDATE")
    assert updated["StackStatus"] == "UPDATE_COMPLETE"
    assert [o["OutputValue"] for o in updated["Outputs"] if o["OutputKey"] == "Name"] == [name]
    assert ssm.get_parameter(Name=name)["Parameter"]["Value"] == "two"

    cfn.delete_stack(StackName="unnamed-setting")
    assert not ssm.describe_parameters()["Parameters"]


GAP = """
import json, sys, boto3
from moto import mock_aws

with mock_aws():
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    try:
        cfn.create_stack(StackName="s", TemplateBody=sys.argv[1])
        status = cfn.describe_stacks(StackName="s")["Stacks"][0]["StackStatus"]
    except Exception as e:
        status = type(e).__name__
    print(json.dumps(status))
"""


def test_moto_still_fails_a_parameter_without_a_name():
    proc = subprocess.run(
        [sys.executable, "-c", GAP, json.dumps(template("one"))],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) != "CREATE_COMPLETE"
