"""Deploys survive faults: a failed create with retained resources, stacks owned by someone
else, a failure that is not AWS's, throttling and server errors, a newer commit already live,
credentials that expire. Against the local AWS (a patched moto server in this process), with
faults injected by a proxy in front of it."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from jiti_contract import StackSetSettings
from jiti_deploy import assets, batch, destinations, interrupt, live, local_aws, runner
from jiti_deploy.destinations import Destination, Destinations
from jiti_deploy.errors import DeployError
from jiti_deploy.report import Result
from jiti_deploy.source import Source
from jiti_deploy.testutil import quiet, table

QUEUE = {"Q": {"Type": "AWS::SQS::Queue"}}


BROKEN_FN = {
    "Type": "AWS::Lambda::Function",
    "DependsOn": ["Table"],
    "Properties": {
        "Runtime": "python3.11",
        "Handler": "x.handler",
        "Role": "arn:aws:iam::123456789012:role/none",
        "Code": {"S3Bucket": "jiti-no-such-bucket", "S3Key": "missing.zip"},
    },
}


# --- a failed create does not wedge the stack -----------------------------------------------


def test_retained_resources_of_a_failed_create_are_named_and_never_collided_with(destination, make):
    """A plain template's Retain table outlives a failed first create: the failure says so
    (not "holds nothing"), and the next deploy names it and the way out, instead of deleting
    the stack and failing on "already exists" forever."""
    broken = {"Resources": {"Table": table("survival-kept", "Retain"), "Fn": BROKEN_FN}}
    with pytest.raises(DeployError) as failed:
        runner.deploy(destination, make("kept", broken), log=quiet)
    assert "kept these resources (DeletionPolicy Retain)" in str(failed.value)
    assert "Table (AWS::DynamoDB::Table): survival-kept" in str(failed.value)
    assert "holds nothing" not in str(failed.value)

    fixed = {"Resources": {"Table": table("survival-kept", "Retain")}}
    with pytest.raises(DeployError) as refused:
        runner.deploy(destination, make("kept", fixed), log=quiet)
    assert "which kept resources (DeletionPolicy Retain) that a new create would collide" in str(
        refused.value
    )
    assert "nothing can be imported into it" in str(refused.value)
    assert (
        "aws cloudformation create-change-set --stack-name kept-dev --change-set-name jiti-import "
        "--change-set-type IMPORT --template-body file://import.json --tags "
        "Key=jiti:deployment,Value=apps/kept:deploy --resources-to-import "
        """'[{"ResourceType":"AWS::DynamoDB::Table","LogicalResourceId":"Table","""
        """"ResourceIdentifier":{"TableName":"survival-kept"}}]'"""
    ) in str(refused.value).splitlines()[-4].strip()
    stack = destination.client("cloudformation").describe_stacks(StackName="kept-dev")["Stacks"][0]
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"  # kept, with the record of what it kept


def test_the_way_out_of_a_failed_create_that_kept_resources_works(destination, make):
    """The advice for a ROLLBACK_COMPLETE stack that kept a table is doable as written: delete
    the table, then the stack (the command given), and the next deploy creates the stack. (A
    ROLLBACK_COMPLETE stack can only be deleted: "When in this state, only a delete operation
    can be performed", CloudFormation User Guide, stack status codes; so nothing can be
    imported into it.)"""
    broken = {"Resources": {"Table": table("survival-out", "Retain"), "Fn": BROKEN_FN}}
    with pytest.raises(DeployError) as failed:
        runner.deploy(destination, make("out", broken), log=quiet)
    lines = [line.strip() for line in str(failed.value).splitlines()]
    assert (
        "A ROLLBACK_COMPLETE stack can only be deleted: nothing can be imported into it. Either"
        in lines
    )
    destination.client("dynamodb").delete_table(TableName="survival-out")
    command = lines[
        lines.index("- drop what it kept: delete the resources above yourself, then") + 1
    ]
    assert command == "aws cloudformation delete-stack --stack-name out-dev"
    destination.client("cloudformation").delete_stack(StackName="out-dev")
    fixed = {"Resources": {"Table": table("survival-out", "Retain")}}
    assert runner.deploy(destination, make("out", fixed), log=quiet) is Result.DEPLOYED


def test_a_failed_create_with_retain_except_on_create_is_recreated(destination, make):
    """jiti's stateful blocks use RetainExceptOnCreate: a failed first create leaves nothing,
    and the next deploy succeeds."""
    broken = {
        "Resources": {"Table": table("survival-fresh", "RetainExceptOnCreate"), "Fn": BROKEN_FN}
    }
    with pytest.raises(DeployError, match="holds nothing"):
        runner.deploy(destination, make("fresh", broken), log=quiet)
    fixed = {"Resources": {"Table": table("survival-fresh", "RetainExceptOnCreate")}}
    assert runner.deploy(destination, make("fresh", fixed), log=quiet) is Result.DEPLOYED


# --- stacks that are not this deployment's --------------------------------------------------


def test_a_stack_jiti_did_not_deploy_is_neither_updated_nor_deleted(destination, make):
    cfn = destination.client("cloudformation")
    cfn.create_stack(StackName="theirs-dev", TemplateBody=json.dumps({"Resources": QUEUE}))
    with pytest.raises(DeployError, match="theirs-dev exists and was not deployed by jiti"):
        runner.deploy(destination, make("theirs", {"Resources": QUEUE}), log=quiet)
    assert cfn.describe_stacks(StackName="theirs-dev")["Stacks"][0]["StackStatus"] == (
        "CREATE_COMPLETE"
    )


def test_a_stack_another_deployment_owns_is_not_taken_over(destination, make):
    runner.deploy(destination, make("owned", {"Resources": QUEUE}), log=quiet)
    other = make("owned", {"Resources": QUEUE}, address="apps/other:deploy")
    with pytest.raises(
        DeployError, match="owned-dev is deployed by apps/owned:deploy, not apps/other:deploy"
    ):
        runner.deploy(destination, other, log=quiet)


# --- the order of commits -------------------------------------------------------------------


def test_an_older_commit_does_not_replace_a_newer_one_unless_forced(destination, make):
    newer, older = Source("b" * 40, 2_000_000_000), Source("a" * 40, 1_900_000_000)
    runner.deploy(destination, make("ordered", {"Resources": QUEUE}, source=newer), log=quiet)
    stale = make("ordered", {"Resources": QUEUE, "Outputs": {"X": {"Value": "old"}}}, source=older)
    with pytest.raises(DeployError, match=r"was deployed from commit bbbbbbbbbbbb, newer than"):
        runner.deploy(destination, stale, log=quiet)
    assert runner.deploy(destination, stale, force=True, log=quiet) is Result.DEPLOYED
    described = destination.client("cloudformation").describe_stacks(StackName="ordered-dev")
    recorded = live.LiveStack.from_description(described["Stacks"][0]).record
    assert recorded["JitiCommit"] == "a" * 40 and recorded["JitiCommitTime"] == "1900000000"


# --- faults on the wire ---------------------------------------------------------------------


def test_throttling_and_server_errors_are_retried_and_the_run_completes(proxy, make, tmp_path):
    proxy.inject("cloudformation:CreateChangeSet", "throttle", times=2)
    proxy.inject("cloudformation:DescribeStacks", "fail", times=2)
    proxy.inject("cloudformation:ExecuteChangeSet", "throttle", times=1)
    proxy.inject("s3:Put", "throttle", times=2)
    proxy.inject("sts:GetCallerIdentity", "fail", times=1)
    deployments = [
        make("wire-a", {"Resources": QUEUE}, files={"apps/wire-a:lambda": b"code"}),
        make("wire-b", {"Resources": QUEUE}),
    ]
    outcomes = batch.run(
        Destinations("aws", tmp_path), deployments, dry_run=False, max_parallel=2, log=quiet
    )
    assert [(o.result, o.target) for o in outcomes] == [(Result.DEPLOYED, "aws")] * 2
    assert sum(proxy.injected.values()) == 8  # every fault was met, and retried


def test_a_failure_that_is_not_aws_s_fails_its_deployment_only(proxy, make, tmp_path):
    """An error that is no ClientError (here the asset's file gone before its upload: an
    OSError) is that deployment's failed row, and the others go on."""
    broken = make(
        "upload-broken", {"Resources": QUEUE}, files={"apps/upload-broken:lambda": b"zip"}
    )
    (asset,) = broken.manifest.assets
    broken.asset_path(asset).unlink()
    deployments = [broken, make("upload-fine", {"Resources": QUEUE})]
    outcomes = batch.run(
        Destinations("aws", tmp_path), deployments, dry_run=False, max_parallel=2, log=quiet
    )
    assert [o.result for o in outcomes] == [Result.FAILED, Result.DEPLOYED]
    assert outcomes[0].error.startswith("FileNotFoundError: ")


def test_an_interrupted_run_starts_nothing_new(endpoint, make, tmp_path, monkeypatch):
    monkeypatch.setattr(
        local_aws, "ensure_running", lambda state_dir, log=print: local_aws.LocalAws(endpoint, 0)
    )
    interrupt._requested.set()
    try:
        outcomes = batch.run(
            Destinations("local", tmp_path),
            [make("never", {"Resources": QUEUE})],
            dry_run=False,
            max_parallel=1,
            log=quiet,
        )
    finally:
        interrupt.reset()
    assert [(o.result, o.error) for o in outcomes] == [(Result.INTERRUPTED, "not started")]


# --- credentials that expire ----------------------------------------------------------------


def test_assumed_role_credentials_are_renewed_before_they_expire(endpoint, tmp_path, monkeypatch):
    """A StackSet rollout or a long update can outlive one assumed-role session: sessions of
    15 minutes are always within botocore's refresh window, so each use renews them."""
    monkeypatch.setattr(
        local_aws, "ensure_running", lambda state_dir, log=print: local_aws.LocalAws(endpoint, 0)
    )
    monkeypatch.setattr(destinations, "ASSUMED_ROLE_SECONDS", 900)
    account = Destinations("local", Path(tmp_path), log=quiet).get(
        "444444444444", "us-east-1", "arn:aws:iam::444444444444:role/jiti-deploy"
    )
    keys = {account.session.get_credentials().get_frozen_credentials().access_key for _ in range(3)}
    assert len(keys) == 3
    assert account.account == "444444444444"
    account.client("sqs").list_queues()  # and they work


# --- the assets bucket ----------------------------------------------------------------------


def other_account_s3(endpoint: str, account: str):
    """S3 as another account sees it (the local AWS acts in any account assumed into)."""
    sts = boto3.client(
        "sts", region_name="us-east-1", endpoint_url=endpoint, **local_aws.CREDENTIALS
    )
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/x", RoleSessionName="other")[
        "Credentials"
    ]
    return boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def test_an_assets_bucket_someone_else_created_first_is_refused(endpoint, make):
    """The bucket's name is guessable: another account that creates it first gets nothing."""
    destination = Destination(
        boto3.Session(region_name="ap-south-1", **local_aws.CREDENTIALS), endpoint, True
    )
    squatter = other_account_s3(endpoint, "999999999999")
    name = assets.bucket_name(destination.account, "ap-south-1")
    squatter.create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": "ap-south-1"}
    )
    deployment = make("squatted", {"Resources": QUEUE}, files={"apps/squatted:lambda": b"code"})
    with pytest.raises(DeployError, match=f"S3 refused the assets bucket {name} to AWS account"):
        runner.deploy(destination, deployment, log=quiet)
    assert squatter.list_objects_v2(Bucket=name).get("KeyCount") == 0


def test_the_assets_bucket_is_private_encrypted_tls_only_and_keeps_its_policy(endpoint, make):
    destination = Destination(
        boto3.Session(region_name="ca-central-1", **local_aws.CREDENTIALS), endpoint, True
    )
    deployment = make(
        "hardened",
        {"Resources": QUEUE},
        stack_set=StackSetSettings(("555555555555",), ("ca-central-1",), 100, 0),
    )
    assert runner.deploy(destination, deployment, log=quiet) is Result.DEPLOYED
    s3, name = destination.client("s3"), assets.bucket_name(destination.account, "ca-central-1")
    blocked = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
    assert all(blocked.values())
    rules = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
    lifecycle = s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]
    assert lifecycle[0]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
    # The StackSet's read grant joined the TLS-only statement: it did not replace it.
    statements = json.loads(s3.get_bucket_policy(Bucket=name)["Policy"])["Statement"]
    assert {s["Sid"] for s in statements} == {"JitiTlsOnly", "JitiStackSetAssets"}
