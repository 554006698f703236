"""StackSets mode against the local AWS (a patched moto server in this process, whose StackSet
updates reach the instances as CloudFormation's do): parameter changes reach every instance,
and the guards of plain stacks hold (owner, newer commit)."""

from __future__ import annotations

import json

import boto3
import pytest

from jiti_contract import ASSETS_BUCKET_PARAMETER, StackSetSettings
from jiti_deploy import assets, local_aws, runner
from jiti_deploy.errors import DeployError
from jiti_deploy.report import Result
from jiti_deploy.source import Source
from jiti_deploy.testutil import quiet

INSTANCE_ACCOUNT = "666666666666"
REGIONS = ("us-east-1", "eu-west-1")
TEMPLATE = {
    "Parameters": {ASSETS_BUCKET_PARAMETER: {"Type": "String"}, "Greeting": {"Type": "String"}},
    "Resources": {"Q": {"Type": "AWS::SQS::Queue"}},
}
QUEUE = {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}


def fleet(make, app: str, greeting: str, **plan):
    return make(
        app,
        TEMPLATE,
        parameters={"Greeting": greeting},
        stack_set=StackSetSettings((INSTANCE_ACCOUNT,), REGIONS, 100, 0),
        **plan,
    )


def cfn_in(endpoint: str, account: str, region: str):
    """CloudFormation as `account` sees it (the local AWS acts in any account assumed into)."""
    sts = boto3.client("sts", region_name=region, endpoint_url=endpoint, **local_aws.CREDENTIALS)
    credentials = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/test", RoleSessionName="test"
    )["Credentials"]
    return boto3.client(
        "cloudformation",
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def instance_parameters(endpoint: str, stack_set: str) -> dict[str, dict]:
    """Each region's instance stack's parameter values."""
    found = {}
    for region in REGIONS:
        (stack,) = [
            s
            for s in cfn_in(endpoint, INSTANCE_ACCOUNT, region).describe_stacks()["Stacks"]
            if s["StackName"].startswith(f"StackSet-{stack_set}-")
        ]
        found[region] = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    return found


def expected(destination, greeting: str) -> dict[str, dict]:
    """Each instance with the deployment's value, and its own region's assets bucket."""
    return {
        region: {
            "Greeting": greeting,
            ASSETS_BUCKET_PARAMETER: assets.bucket_name(destination.account, region),
        }
        for region in REGIONS
    }


def test_a_parameter_change_reaches_every_instance(endpoint, destination, make):
    """Only the assets bucket is overridden per instance: UpdateStackSet keeps overridden
    values (API reference, UpdateStackInstances ParameterOverrides), so any other value
    overridden would never change again."""
    assert runner.deploy(destination, fleet(make, "pfleet", "hello"), log=quiet) is Result.DEPLOYED
    assert instance_parameters(endpoint, "pfleet-dev") == expected(destination, "hello")
    changed = fleet(make, "pfleet", "bye")
    assert runner.deploy(destination, changed, log=quiet) is Result.DEPLOYED
    assert instance_parameters(endpoint, "pfleet-dev") == expected(destination, "bye")
    assert runner.deploy(destination, changed, log=quiet) is Result.UP_TO_DATE


def test_instances_an_earlier_version_overrode_every_value_on_take_the_change(
    endpoint, destination, make
):
    """Earlier versions of jiti overrode every value on each instance: a deploy that changes
    one sets them back to the StackSet's, the assets bucket excepted."""
    assert runner.deploy(destination, fleet(make, "ofleet", "hello"), log=quiet) is Result.DEPLOYED
    cfn = destination.client("cloudformation")
    for region in REGIONS:
        bucket = assets.bucket_name(destination.account, region)
        cfn.update_stack_instances(
            StackSetName="ofleet-dev",
            Accounts=[INSTANCE_ACCOUNT],
            Regions=[region],
            ParameterOverrides=[
                {"ParameterKey": "Greeting", "ParameterValue": "hello"},
                {"ParameterKey": ASSETS_BUCKET_PARAMETER, "ParameterValue": bucket},
            ],
        )
    assert runner.deploy(destination, fleet(make, "ofleet", "bye"), log=quiet) is Result.DEPLOYED
    assert instance_parameters(endpoint, "ofleet-dev") == expected(destination, "bye")
    overrides = cfn.describe_stack_instance(
        StackSetName="ofleet-dev",
        StackInstanceAccount=INSTANCE_ACCOUNT,
        StackInstanceRegion=REGIONS[1],
    )["StackInstance"]["ParameterOverrides"]
    assert [o["ParameterKey"] for o in overrides] == [ASSETS_BUCKET_PARAMETER]


def test_a_stack_set_jiti_did_not_deploy_is_not_taken_over(destination, make):
    cfn = destination.client("cloudformation")
    cfn.create_stack_set(StackSetName="handmade-dev", TemplateBody=json.dumps(QUEUE))
    with pytest.raises(DeployError, match="handmade-dev exists and was not deployed by jiti"):
        runner.deploy(destination, fleet(make, "handmade", "hello"), log=quiet)
    assert cfn.list_stack_instances(StackSetName="handmade-dev")["Summaries"] == []


def test_a_stack_set_another_deployment_owns_is_not_taken_over(destination, make):
    first = fleet(make, "shared", "hello", address="apps/first:deploy")
    assert runner.deploy(destination, first, log=quiet) is Result.DEPLOYED
    second = fleet(make, "shared", "bye", address="apps/second:deploy")
    with pytest.raises(
        DeployError, match="shared-dev is deployed by apps/first:deploy, not apps/sec"
    ):
        runner.deploy(destination, second, log=quiet)


def test_an_older_commit_does_not_replace_a_newer_stack_set_unless_forced(destination, make):
    newer, older = Source("b" * 40, 2_000_000_000), Source("a" * 40, 1_900_000_000)
    assert runner.deploy(destination, fleet(make, "ordered", "new", source=newer), log=quiet) is (
        Result.DEPLOYED
    )
    stale = fleet(make, "ordered", "old", source=older)
    with pytest.raises(DeployError, match=r"was deployed from commit bbbbbbbbbbbb, newer than"):
        runner.deploy(destination, stale, log=quiet)
    with pytest.raises(DeployError, match=r"was deployed from commit bbbbbbbbbbbb, newer than"):
        runner.deploy(destination, stale, dry_run=True, log=quiet)
    assert runner.deploy(destination, stale, force=True, log=quiet) is Result.DEPLOYED
