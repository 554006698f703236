"""The deploy runtime against the local AWS (a patched moto server in this process): every
change reaches the stack, the steps after an update are part of the version, and mistakes are
refused before anything is written."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import boto3
import pytest
from botocore.credentials import AssumeRoleCredentialFetcher

from jiti_contract import StackSetSettings
from jiti_deploy import assets, in_review, runner, site_content
from jiti_deploy.deployment import Deployment
from jiti_deploy.destinations import Destination, Destinations
from jiti_deploy.errors import DeployError
from jiti_deploy.local_aws import CREDENTIALS, LocalAws
from jiti_deploy.report import Result
from jiti_deploy.testutil import quiet

REGION = "us-east-1"
QUEUE = {"Q": {"Type": "AWS::SQS::Queue"}}


def live(destination: Destination, stack: str) -> dict:
    return destination.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]


def bucket_names(destination: Destination) -> set[str]:
    return {b["Name"] for b in destination.client("s3").list_buckets()["Buckets"]}


def test_a_change_to_outputs_only_reaches_the_live_template(destination, make):
    """Today's template is the live one, even when no resource changes."""
    first = {"Resources": QUEUE, "Outputs": {"Colour": {"Value": "blue"}}}
    second = {"Resources": QUEUE, "Outputs": {"Colour": {"Value": "green"}}}
    runner.deploy(destination, make("outputs", first), log=quiet)
    assert runner.deploy(destination, make("outputs", second), log=quiet) is Result.DEPLOYED
    cfn = destination.client("cloudformation")
    body = json.loads(json.dumps(cfn.get_template(StackName="outputs-dev")["TemplateBody"]))
    own = {k: v for k, v in body["Outputs"].items() if not k.startswith("Jiti")}
    assert {**body, "Outputs": own} == second  # with jiti's record beside the app's outputs
    outputs = {
        o["OutputKey"]: o["OutputValue"] for o in live(destination, "outputs-dev")["Outputs"]
    }
    assert outputs["Colour"] == "green"


def test_termination_protection_is_turned_off_again(destination, make):
    template = {"Resources": QUEUE}
    runner.deploy(destination, make("guarded", template, termination_protection=True), log=quiet)
    assert live(destination, "guarded-dev")["EnableTerminationProtection"] is True
    runner.deploy(destination, make("guarded", template, termination_protection=False), log=quiet)
    assert live(destination, "guarded-dev")["EnableTerminationProtection"] is False


def site(make) -> Deployment:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("index.html", "<h1>hello</h1>")
    content = archive.getvalue()
    key = f"assets/{hashlib.sha256(content).hexdigest()}.zip"
    template = {
        "Resources": {"Site": {"Type": "AWS::S3::Bucket"}},
        "Outputs": {"SiteName": {"Value": {"Ref": "Site"}}},
        "Metadata": {"jiti:site-content": [{"Asset": key, "BucketOutput": "SiteName"}]},
    }
    return make("site", template, {"apps/site/static:static": content})


def test_site_content_that_failed_to_publish_is_published_by_the_next_run(
    destination, make, monkeypatch
):
    """Publishing is part of the version: a run that stopped after the stack update does not
    leave the next run saying "up to date" with an empty site."""
    deployment = site(make)
    publish = site_content.publish

    def interrupted(*args, **kwargs):
        raise DeployError("interrupted before publishing")

    monkeypatch.setattr(site_content, "publish", interrupted)
    with pytest.raises(DeployError):
        runner.deploy(destination, deployment, log=quiet)
    monkeypatch.setattr(site_content, "publish", publish)

    logged = []
    assert runner.deploy(destination, deployment, log=logged.append) is Result.DEPLOYED
    assert any("redoing what did not finish: site content" in line for line in logged)
    bucket = {o["OutputKey"]: o["OutputValue"] for o in live(destination, "site-dev")["Outputs"]}
    listed = destination.client("s3").list_objects_v2(Bucket=bucket["SiteName"])["Contents"]
    assert [o["Key"] for o in listed] == ["index.html"]
    assert runner.deploy(destination, deployment, log=quiet) is Result.UP_TO_DATE


def test_force_deploys_what_is_live_at_the_same_version(destination, make):
    deployment = make("forced", {"Resources": QUEUE})
    runner.deploy(destination, deployment, log=quiet)
    assert runner.deploy(destination, deployment, log=quiet) is Result.UP_TO_DATE
    logged = []
    assert runner.deploy(destination, deployment, force=True, log=logged.append) is Result.DEPLOYED
    assert any("(forced)" in line for line in logged)


def test_parameters_the_template_refuses_stop_the_deploy_before_any_write(destination, make):
    template = {
        "Parameters": {"Size": {"Type": "String", "AllowedValues": ["small", "large"]}},
        "Resources": QUEUE,
    }
    before = bucket_names(destination)
    deployment = make("sized", template, parameters={"Size": "{region}"})
    with pytest.raises(DeployError, match=r"field `parameters`: Size='us-east-1': not one of"):
        runner.deploy(destination, deployment, log=quiet)
    assert bucket_names(destination) == before
    pages = destination.client("cloudformation").get_paginator("describe_stacks").paginate()
    assert "sized-dev" not in {s["StackName"] for page in pages for s in page["Stacks"]}


LARGE = {
    "Resources": {
        f"Q{i}": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"large-queue-{i:04d}"}}
        for i in range(800)
    }
}


def test_a_dry_run_of_a_large_template_writes_nothing_and_shows_the_changes(
    endpoint, make, tmp_path
):
    """Over 51,200 bytes a template must come from S3; a dry run uploads nothing, so it
    compares the templates itself."""
    # An account of its own, so that no earlier test's assets bucket is there.
    destination = Destination(
        boto3.Session(region_name="eu-central-1", **CREDENTIALS), endpoint, local=True
    )
    deployment = make("large", LARGE)
    assert deployment.template_path.stat().st_size > 51_200
    logged = []
    assert runner.deploy(destination, deployment, dry_run=True, log=logged.append) is Result.DRY_RUN
    assert assets.bucket_name(destination.account, "eu-central-1") not in bucket_names(destination)
    assert sum("+ Add" in line for line in logged) == 800
    assert runner.deploy(destination, deployment, log=quiet) is Result.DEPLOYED
    bucket = assets.bucket_name(destination.account, "eu-central-1")
    keys = [o["Key"] for o in destination.client("s3").list_objects_v2(Bucket=bucket)["Contents"]]
    assert len(keys) == 1 and keys[0].startswith("templates/")


def test_a_large_stack_set_template_goes_through_s3(destination, make):
    deployment = make(
        "fleet",
        LARGE,
        stack_set=StackSetSettings(("333333333333",), (REGION,), 100, 0),
    )
    assert runner.deploy(destination, deployment, log=quiet) is Result.DEPLOYED
    described = destination.client("cloudformation").describe_stack_set(StackSetName="fleet-dev")
    assert len(described["StackSet"]["TemplateBody"]) > 51_200


def test_a_role_that_reaches_another_account_is_refused(endpoint, tmp_path, monkeypatch):
    """The account assumed-role credentials really act in (STS) must be the deployment's."""
    monkeypatch.setattr(
        "jiti_deploy.local_aws.ensure_running",
        lambda state_dir, log=print: LocalAws(endpoint=endpoint, pid=0),
    )
    destinations = Destinations("local", Path(tmp_path), log=quiet)
    wrong_role = "arn:aws:iam::222222222222:role/jiti-deploy"
    with pytest.raises(DeployError, match="reaches AWS account 222222222222, not 111111111111"):
        destinations.get("111111111111", REGION, wrong_role)
    right = destinations.get("111111111111", REGION, "arn:aws:iam::111111111111:role/jiti-deploy")
    assert right.account == "111111111111"


def test_the_default_role_is_named_in_the_partition_of_the_deployment_s_region(
    endpoint, tmp_path, monkeypatch
):
    """A role ARN names its partition (IAM User Guide, "IAM identifiers": `arn:aws-cn:iam::...`
    in the China regions): the default `assume_role` holds `{partition}`, filled from botocore's
    data for the deployment's region, so a deployment in cn-north-1 assumes an `aws-cn` role."""
    monkeypatch.setattr(
        "jiti_deploy.local_aws.ensure_running",
        lambda state_dir, log=print: LocalAws(endpoint=endpoint, pid=0),
    )
    assumed = []
    monkeypatch.setattr(
        "jiti_deploy.destinations.AssumeRoleCredentialFetcher",
        recording(AssumeRoleCredentialFetcher, assumed),
    )
    destinations = Destinations("local", Path(tmp_path), log=quiet)
    for region in ("cn-north-1", REGION):
        destinations.get(
            "111111111111", region, "arn:{partition}:iam::111111111111:role/jiti-deploy"
        )
    assert assumed == [
        "arn:aws-cn:iam::111111111111:role/jiti-deploy",
        "arn:aws:iam::111111111111:role/jiti-deploy",
    ]


def recording(fetcher_class, roles: list):
    """`fetcher_class`, noting the role each fetcher is made for."""

    def make(**kwargs):
        roles.append(kwargs["role_arn"])
        return fetcher_class(**kwargs)

    return make


class Killed(BaseException):
    """The job was stopped (a CI runner lost) right after making its change set."""


def killed_after_the_change_set(line: str) -> None:
    if ": change set (new stack)" in line:
        raise Killed(line)


def test_a_stack_left_in_review_by_a_killed_job_is_recovered_by_the_next_run(
    destination, make, monkeypatch
):
    """A job stopped between making a CREATE change set and executing or discarding it leaves
    a stack in REVIEW_IN_PROGRESS, with no tags on CloudFormation (fix 16 of the local AWS).
    Its owner is known from the change set's tags: while the change set is young another job
    may still execute it, and nothing is deleted; once it is old, the next run recreates it."""
    deployment = make("review", {"Resources": QUEUE}, repository="runner-test")
    with pytest.raises(Killed):
        runner.deploy(destination, deployment, log=killed_after_the_change_set)
    left = live(destination, "review-dev")
    assert (left["StackStatus"], left.get("Tags", [])) == ("REVIEW_IN_PROGRESS", [])

    with pytest.raises(DeployError, match="another deploy may be about to create it"):
        runner.deploy(destination, deployment, log=quiet)
    assert live(destination, "review-dev")["StackId"] == left["StackId"]

    monkeypatch.setattr(in_review, "FRESH_S", 0)  # the killed job's change set is old now
    assert runner.deploy(destination, deployment, log=quiet) is Result.DEPLOYED
    assert live(destination, "review-dev")["StackStatus"] == "CREATE_COMPLETE"


def test_a_stack_updated_after_the_change_set_was_made_gets_a_fresh_one(destination, make):
    """Another deploy updates the stack while this one shows its change set: on CloudFormation
    (and the local AWS, fix 16) that change set is OBSOLETE and cannot be executed. The stack
    is read again and a fresh change set made from what is live now."""
    runner.deploy(destination, make("moving", {"Resources": QUEUE}), log=quiet)
    cfn = destination.client("cloudformation")
    other = {"Resources": {**QUEUE, "Other": {"Type": "AWS::SQS::Queue"}}}

    def another_deploy_meanwhile(line: str) -> None:
        logged.append(line)
        if line == "moving-dev: change set (update)" and logged.count(line) == 1:
            cfn.update_stack(StackName="moving-dev", TemplateBody=json.dumps(other))

    logged: list[str] = []
    mine = {"Resources": {**QUEUE, "Mine": {"Type": "AWS::SQS::Queue"}}}
    assert runner.deploy(destination, make("moving", mine), log=another_deploy_meanwhile) is (
        Result.DEPLOYED
    )
    assert (
        "moving-dev changed after its change set was made: its change set is out of date; "
        "reading the stack again"
    ) in logged
    template = cfn.get_template(StackName="moving-dev")["TemplateBody"]
    assert sorted(json.loads(json.dumps(template))["Resources"]) == ["Mine", "Q"]
    assert [
        s["ExecutionStatus"] for s in cfn.list_change_sets(StackName="moving-dev")["Summaries"]
    ] == ["EXECUTE_COMPLETE"]
