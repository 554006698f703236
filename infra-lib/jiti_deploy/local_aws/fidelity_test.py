"""The local AWS's CloudFormation fidelity fixes, each twice: what jiti gets with them (a moto
server in this process, patched), and that moto on its own still has the gap (plain moto in a
fresh interpreter, since `fidelity.apply()` patches moto's classes for good). When a "gap" test
fails, moto changed: check whether the matching fix is still needed."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap

import boto3
import pytest
from botocore.config import Config

from jiti_deploy import local_aws
from jiti_deploy.testutil import table

REGION = "us-east-1"
MOTO_ACCOUNT = "123456789012"  # the account moto serves for any credentials
# One attempt per call: a failing call must show up as it is, not be retried.
NO_RETRIES = Config(retries={"total_max_attempts": 1})

QUEUE = {"Q": {"Type": "AWS::SQS::Queue"}}
WITH_OUTPUTS = {
    "Resources": QUEUE,
    "Outputs": {
        "QueueUrl": {"Value": {"Ref": "Q"}, "Export": {"Name": "fidelity-queue-url"}},
        "QueueArn": {"Value": {"Fn::GetAtt": ["Q", "Arn"]}},
    },
}
# The Deployment comes first in the template, in name order and in key order; only its
# DependsOn says the Method must exist first (API Gateway refuses a deployment without methods).
API = {
    "Resources": {
        "ADeployment": {
            "Type": "AWS::ApiGateway::Deployment",
            "DependsOn": ["Method"],
            "Properties": {"RestApiId": {"Ref": "Api"}, "StageName": "live"},
        },
        "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "fidelity"}},
        "Method": {
            "Type": "AWS::ApiGateway::Method",
            "Properties": {
                "RestApiId": {"Ref": "Api"},
                "ResourceId": {"Fn::GetAtt": ["Api", "RootResourceId"]},
                "HttpMethod": "GET",
                "AuthorizationType": "NONE",
                "Integration": {
                    "Type": "HTTP_PROXY",
                    "IntegrationHttpMethod": "GET",
                    "Uri": "https://example.com/",
                },
            },
        },
    }
}
# A function whose code is in a bucket that does not exist: Lambda refuses to create it.
BROKEN_FN = {
    "Fn": {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "FunctionName": "fidelity-broken-fn",
            "Runtime": "python3.11",
            "Handler": "x.handler",
            "Role": "arn:aws:iam::123456789012:role/none",
            "Code": {"S3Bucket": "fidelity-no-such-bucket", "S3Key": "missing.zip"},
        },
    }
}


# --- jiti's local AWS: a patched moto server on loopback ------------------------------------


def local_cfn(endpoint: str):
    """CloudFormation on the local AWS at `endpoint`, one attempt per call."""
    return boto3.client(
        "cloudformation",
        region_name=REGION,
        endpoint_url=endpoint,
        config=NO_RETRIES,
        **local_aws.CREDENTIALS,
    )


@pytest.fixture
def cfn(endpoint):
    return local_cfn(endpoint)


def execute(cfn, stack: str, template: dict, kind: str, tags: dict | None = None) -> dict:
    """Create and execute a change set as jiti does; returns the stack afterwards."""
    created = cfn.create_change_set(
        StackName=stack,
        ChangeSetName=f"jiti-{kind.lower()}",
        ChangeSetType=kind,
        TemplateBody=json.dumps(template),
        Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()],
    )
    assert cfn.describe_change_set(ChangeSetName=created["Id"])["Status"] == "CREATE_COMPLETE"
    cfn.execute_change_set(ChangeSetName=created["Id"])
    return cfn.describe_stacks(StackName=stack)["Stacks"][0]


def stack_names(cfn) -> list[str]:
    """Every stack's name, on every page (the local AWS pages DescribeStacks at 50)."""
    pages = cfn.get_paginator("describe_stacks").paginate()
    return [s["StackName"] for page in pages for s in page["Stacks"]]


def resource_events(cfn, stack: str) -> list[tuple[str, str, str, str | None]]:
    """(logical id, type, status, reason) of the stack's resource events, oldest first."""
    events = cfn.describe_stack_events(StackName=stack)["StackEvents"]
    return [
        (
            e["LogicalResourceId"],
            e["ResourceType"],
            e["ResourceStatus"],
            e.get("ResourceStatusReason"),
        )
        for e in reversed(events)
        if e["ResourceType"] != "AWS::CloudFormation::Stack"
    ]


def test_execute_change_set_sets_outputs_and_exports(cfn):
    """Fix 1: jiti reads a stack's outputs after executing its change set, and other stacks
    import its exports; both must exist, and follow an update."""
    stack = execute(cfn, "fidelity-outputs", WITH_OUTPUTS, "CREATE")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert set(outputs) == {"QueueUrl", "QueueArn"}
    assert outputs["QueueArn"].startswith("arn:aws:sqs:us-east-1:")
    exports = {e["Name"]: e["Value"] for e in cfn.list_exports()["Exports"]}
    assert exports["fidelity-queue-url"] == outputs["QueueUrl"]

    renamed = {
        "Resources": {"R": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {"QueueUrl": {"Value": {"Ref": "R"}, "Export": {"Name": "fidelity-queue-url"}}},
    }
    stack = execute(cfn, "fidelity-outputs", renamed, "UPDATE")
    updated = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert set(updated) == {"QueueUrl"} and updated["QueueUrl"] != outputs["QueueUrl"]
    exports = {e["Name"]: e["Value"] for e in cfn.list_exports()["Exports"]}
    assert exports["fidelity-queue-url"] == updated["QueueUrl"]


def test_change_set_creates_resources_in_depends_on_order(cfn):
    """Fix 2: an API Gateway Deployment sorted before the Method it DependsOn still deploys."""
    stack = execute(cfn, "fidelity-api", API, "CREATE")
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    resources = cfn.list_stack_resources(StackName="fidelity-api")["StackResourceSummaries"]
    assert sorted(r["LogicalResourceId"] for r in resources) == ["ADeployment", "Api", "Method"]


def test_update_change_set_puts_its_tags_on_the_stack(cfn):
    """Fix 3: jiti reads who owns a stack from its tags (`jiti:deployment`), which the change
    set sets."""
    execute(cfn, "fidelity-tags", {"Resources": QUEUE}, "CREATE", tags={"jiti:version": "v1"})
    stack = execute(
        cfn,
        "fidelity-tags",
        {"Resources": {**QUEUE, "Q2": {"Type": "AWS::SQS::Queue"}}},
        "UPDATE",
        tags={"jiti:version": "v2"},
    )
    assert {t["Key"]: t["Value"] for t in stack["Tags"]} == {"jiti:version": "v2"}


def stack_set_instance_names(cfn, stack_set: str) -> list[str]:
    """Create a self-managed StackSet with one instance here; the names of its stacks."""
    cfn.create_stack_set(StackSetName=stack_set, TemplateBody=json.dumps({"Resources": QUEUE}))
    cfn.create_stack_instances(StackSetName=stack_set, Accounts=[MOTO_ACCOUNT], Regions=[REGION])
    return [s for s in stack_names(cfn) if stack_set in s]


def test_stack_set_instance_stacks_are_named_like_cloudformation(cfn):
    """Fix 4: CloudFormation names an instance's stack StackSet-<name>-<uuid>, so resource
    names made from it are valid."""
    (name,) = stack_set_instance_names(cfn, "fidelity-set")
    assert re.fullmatch(r"StackSet-fidelity-set-[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", name)
    (queue,) = cfn.list_stack_resources(StackName=name)["StackResourceSummaries"]
    assert queue["LogicalResourceId"] == "Q" and queue["ResourceStatus"] == "CREATE_COMPLETE"


def test_failed_create_rolls_back_and_names_the_resource(cfn):
    """Fix 5 (create): a resource fails to create; the call succeeds, the stack ends
    ROLLBACK_COMPLETE and its events say which resource failed and why."""
    stack = execute(cfn, "fidelity-create-fails", {"Resources": BROKEN_FN}, "CREATE")
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    failed = [e for e in resource_events(cfn, "fidelity-create-fails") if e[2].endswith("_FAILED")]
    assert len(failed) == 1
    logical_id, resource_type, status, reason = failed[0]
    assert (logical_id, resource_type, status) == ("Fn", "AWS::Lambda::Function", "CREATE_FAILED")
    assert "NoSuchBucket" in reason


def test_failed_update_rolls_back_and_names_the_resource(cfn):
    """Fix 5 (update): an update adds a resource that fails; the stack ends
    UPDATE_ROLLBACK_COMPLETE, the previous version still live, with a failed event for it."""
    execute(cfn, "fidelity-update-fails", {"Resources": QUEUE}, "CREATE")
    stack = execute(cfn, "fidelity-update-fails", {"Resources": {**QUEUE, **BROKEN_FN}}, "UPDATE")
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    failed = [e for e in resource_events(cfn, "fidelity-update-fails") if e[2].endswith("_FAILED")]
    assert [(e[0], e[1], e[2]) for e in failed] == [
        ("Fn", "AWS::Lambda::Function", "UPDATE_FAILED")
    ]
    assert "NoSuchBucket" in failed[0][3]


def test_termination_protection_is_set_and_stops_deletion(cfn):
    """Fix 6: UpdateTerminationProtection sets the flag DescribeStacks shows, and a protected
    stack is not deleted until the flag is off again."""
    cfn.create_stack(StackName="fidelity-protected", TemplateBody=json.dumps({"Resources": QUEUE}))
    cfn.update_termination_protection(
        StackName="fidelity-protected", EnableTerminationProtection=True
    )
    assert cfn.describe_stacks(StackName="fidelity-protected")["Stacks"][0][
        "EnableTerminationProtection"
    ]
    with pytest.raises(
        cfn.exceptions.ClientError, match="cannot be deleted while TerminationProtection is enabled"
    ):
        cfn.delete_stack(StackName="fidelity-protected")
    cfn.update_termination_protection(
        StackName="fidelity-protected", EnableTerminationProtection=False
    )
    cfn.delete_stack(StackName="fidelity-protected")
    assert "fidelity-protected" not in stack_names(cfn)


def failing_after(resource: dict) -> dict:
    """`resource` as T, then a function (made after it) that fails to create."""
    fn = {**BROKEN_FN["Fn"], "DependsOn": ["T"]}
    fn["Properties"] = {**fn["Properties"], "FunctionName": f"fidelity-fn-{id(resource)}"}
    return {"Resources": {"T": resource, "Fn": fn}}


@pytest.mark.parametrize(
    "policy, kept", [("Retain", True), ("RetainExceptOnCreate", False), ("Delete", False)]
)
def test_a_rolled_back_create_reports_what_it_deleted_and_what_it_kept(cfn, endpoint, policy, kept):
    """Fix 8: a failed create deletes what it made, except Retain resources (DELETE_SKIPPED);
    RetainExceptOnCreate ones are deleted, since they hold nothing yet."""
    stack = f"fidelity-rollback-{policy.lower()}"
    name = f"fidelity-table-{policy.lower()}"
    assert (
        execute(cfn, stack, failing_after(table(name, policy)), "CREATE")["StackStatus"]
        == "ROLLBACK_COMPLETE"
    )
    events = [e[:3] for e in resource_events(cfn, stack) if e[0] == "T"]
    assert events[-1] == (
        "T",
        "AWS::DynamoDB::Table",
        "DELETE_SKIPPED" if kept else "DELETE_COMPLETE",
    )
    tables = boto3.client(
        "dynamodb", region_name=REGION, endpoint_url=endpoint, **local_aws.CREDENTIALS
    ).list_tables()["TableNames"]
    assert (name in tables) is kept


def test_deleting_a_stack_keeps_retain_except_on_create_resources(cfn, endpoint):
    """Fix 8: once created, a RetainExceptOnCreate resource outlives its stack, as a Retain one."""
    execute(
        cfn,
        "fidelity-keep",
        {"Resources": {"T": table("fidelity-kept", "RetainExceptOnCreate")}},
        "CREATE",
    )
    cfn.delete_stack(StackName="fidelity-keep")
    tables = boto3.client(
        "dynamodb", region_name=REGION, endpoint_url=endpoint, **local_aws.CREDENTIALS
    ).list_tables()["TableNames"]
    assert "fidelity-kept" in tables


def named_table(name: str) -> dict:
    """A retained table with an output for its name and one for its ARN."""
    resource = {**table(name, "RetainExceptOnCreate"), "UpdateReplacePolicy": "Retain"}
    return {
        "Resources": {"T": resource},
        "Outputs": {
            "Name": {"Value": {"Ref": "T"}},
            "Arn": {"Value": {"Fn::GetAtt": ["T", "Arn"]}},
        },
    }


def test_an_update_that_renames_a_table_replaces_it_and_keeps_the_old_one(cfn, endpoint):
    """Fix 15: the table stays in the stack through updates; a new name is a new table."""
    execute(cfn, "fidelity-rename", named_table("fidelity-t1"), "CREATE")
    updated = execute(cfn, "fidelity-rename", named_table("fidelity-t2"), "UPDATE")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in updated["Outputs"]}
    assert outputs["Name"] == "fidelity-t2" and outputs["Arn"].endswith(":table/fidelity-t2")
    tables = boto3.client(
        "dynamodb", region_name=REGION, endpoint_url=endpoint, **local_aws.CREDENTIALS
    ).list_tables()["TableNames"]
    assert {"fidelity-t1", "fidelity-t2"} <= set(tables)  # the old one kept, as the policy says
    # An update that leaves the table alone keeps it too.
    same = execute(
        cfn,
        "fidelity-rename",
        {**named_table("fidelity-t2"), "Outputs": {"Name": {"Value": {"Ref": "T"}}}},
        "UPDATE",
    )
    assert same["Outputs"] == [{"OutputKey": "Name", "OutputValue": "fidelity-t2"}]


def s3_of(endpoint: str, account: str | None = None):
    """S3 as `account` (assumed into; the default account otherwise) sees it."""
    creds = {**local_aws.CREDENTIALS}
    if account:
        sts = boto3.client("sts", region_name=REGION, endpoint_url=endpoint, **creds)
        c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/x", RoleSessionName="fidelity")[
            "Credentials"
        ]
        creds = {
            "aws_access_key_id": c["AccessKeyId"],
            "aws_secret_access_key": c["SecretAccessKey"],
            "aws_session_token": c["SessionToken"],
        }
    return boto3.client("s3", region_name=REGION, endpoint_url=endpoint, config=NO_RETRIES, **creds)


def test_a_bucket_of_another_owner_is_refused(endpoint):
    """Fix 9: a call naming the bucket's expected owner is refused (403) when another account
    owns it, and goes through for the owner."""
    s3_of(endpoint, "999999999999").create_bucket(Bucket="fidelity-squatted")
    mine = s3_of(endpoint)
    with pytest.raises(mine.exceptions.ClientError, match="403"):
        mine.head_bucket(Bucket="fidelity-squatted", ExpectedBucketOwner=MOTO_ACCOUNT)
    with pytest.raises(mine.exceptions.ClientError, match="AccessDenied"):
        mine.put_object(
            Bucket="fidelity-squatted", Key="k", Body=b"x", ExpectedBucketOwner=MOTO_ACCOUNT
        )
    mine.create_bucket(Bucket="fidelity-mine")
    mine.put_object(Bucket="fidelity-mine", Key="k", Body=b"x", ExpectedBucketOwner=MOTO_ACCOUNT)


TLS_ONLY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::fidelity-tls", "arn:aws:s3:::fidelity-tls/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ],
}


def test_a_tls_only_bucket_policy_lets_the_local_aws_through(endpoint):
    """Fix 10: the Deny of a TLS-only policy does not apply to the local AWS's requests."""
    s3 = s3_of(endpoint)
    s3.create_bucket(Bucket="fidelity-tls")
    s3.put_bucket_policy(Bucket="fidelity-tls", Policy=json.dumps(TLS_ONLY))
    s3.put_object(Bucket="fidelity-tls", Key="k", Body=b"x")
    assert s3.get_object(Bucket="fidelity-tls", Key="k")["Body"].read() == b"x"


LARGE = {"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Metadata": {"pad": "x" * 52_000}}}}


@pytest.mark.parametrize("action", ["create_stack", "create_change_set", "create_stack_set"])
def test_templates_over_51200_bytes_are_refused_inline(cfn, action):
    """Fix 7: a TemplateBody over 51,200 bytes is refused, as CloudFormation does."""
    kwargs = (
        {"ChangeSetName": "c", "ChangeSetType": "CREATE"} if action == "create_change_set" else {}
    )
    name = (
        {"StackSetName": "fidelity-large"}
        if action == "create_stack_set"
        else {"StackName": "fidelity-large"}
    )
    with pytest.raises(cfn.exceptions.ClientError, match="less than or equal to 51200"):
        getattr(cfn, action)(**name, TemplateBody=json.dumps(LARGE), **kwargs)


# --- plain moto, in a fresh interpreter: the gaps the fixes close ---------------------------

UNPATCHED = """
import json, sys
import boto3, moto
from botocore.config import Config

templates = json.loads(sys.argv[1])
moto.mock_aws().start()
cfn = boto3.client("cloudformation", region_name="us-east-1",
                   config=Config(retries={"total_max_attempts": 1}))
result = {}

def execute(stack, template, kind, tags=None):
    \"\"\"Create and execute a change set; the error of the execute call, if any.\"\"\"
    created = cfn.create_change_set(
        StackName=stack, ChangeSetName="c-" + kind.lower(), ChangeSetType=kind,
        TemplateBody=json.dumps(template),
        Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()])
    try:
        cfn.execute_change_set(ChangeSetName=created["Id"])
    except Exception as e:
        return str(e)

def stack(name):
    return cfn.describe_stacks(StackName=name)["Stacks"][0]

def statuses(name):
    return [e["ResourceStatus"] for e in cfn.describe_stack_events(StackName=name)["StackEvents"]]
"""


def unpatched(scenario: str, **templates) -> dict:
    """Run `scenario` against moto's own CloudFormation, in process (mock_aws) and without
    jiti's patches; returns the `result` it fills in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_DEFAULT_REGION=REGION,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        # Where this interpreter finds moto and boto3 (a Pants sandbox has no site-packages).
        PYTHONPATH=os.pathsep.join(p for p in sys.path if p),
    )
    code = UNPATCHED + textwrap.dedent(scenario) + "\nprint(json.dumps(result))\n"
    proc = subprocess.run(
        [sys.executable, "-c", code, json.dumps(templates)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_moto_still_gives_no_outputs_or_exports_after_execute_change_set():
    """Gap 1: ExecuteChangeSet leaves the stack without Outputs and registers no Exports."""
    result = unpatched(
        """
        result["error"] = execute("s", templates["outputs"], "CREATE")
        result["status"] = stack("s")["StackStatus"]
        result["outputs"] = stack("s").get("Outputs")
        result["exports"] = cfn.list_exports()["Exports"]
        """,
        outputs=WITH_OUTPUTS,
    )
    assert result == {"error": None, "status": "CREATE_COMPLETE", "outputs": None, "exports": []}


def test_moto_still_creates_change_set_resources_in_template_order():
    """Gap 2: DependsOn is ignored, so the Deployment comes before its Method and fails."""
    result = unpatched(
        """
        result["error"] = execute("s", templates["api"], "CREATE")
        result["status"] = stack("s")["StackStatus"]
        """,
        api=API,
    )
    assert "contain any methods" in (result["error"] or "")
    assert result["status"] == "REVIEW_IN_PROGRESS"


def test_moto_still_ignores_update_change_set_tags():
    """Gap 3: an UPDATE change set's tags never reach the stack."""
    result = unpatched(
        """
        execute("s", templates["v1"], "CREATE", tags={"jiti:version": "v1"})
        result["error"] = execute("s", templates["v2"], "UPDATE", tags={"jiti:version": "v2"})
        result["status"] = stack("s")["StackStatus"]
        result["tags"] = stack("s")["Tags"]
        """,
        v1={"Resources": QUEUE},
        v2={"Resources": {**QUEUE, "Q2": {"Type": "AWS::SQS::Queue"}}},
    )
    assert result["error"] is None and result["status"] == "UPDATE_COMPLETE"
    assert result["tags"] == [{"Key": "jiti:version", "Value": "v1"}]


def test_moto_still_names_stack_set_instance_stacks_with_a_colon():
    """Gap 4: moto names an instance's stack `StackSet:<name>`, so the queue named after it
    gets an invalid name and creating the instance fails."""
    result = unpatched(
        """
        cfn.create_stack_set(StackSetName="set", TemplateBody=json.dumps(templates["queue"]))
        try:
            cfn.create_stack_instances(StackSetName="set", Accounts=["123456789012"],
                                       Regions=["us-east-1"])
        except Exception as e:
            result["error"] = str(e)
        result["names"] = [s["StackName"] for s in cfn.describe_stacks()["Stacks"]]
        """,
        queue={"Resources": QUEUE},
    )
    assert "Can only include alphanumeric characters, hyphens, or underscores" in result["error"]
    assert result["names"] == ["StackSet:set"]


def test_moto_still_fails_the_call_for_a_failing_resource_on_create():
    """Gap 5 (create): ExecuteChangeSet itself fails, the stack never settles and no event
    names the failed resource."""
    result = unpatched(
        """
        result["error"] = execute("s", templates["broken"], "CREATE")
        result["status"] = stack("s")["StackStatus"]
        result["events"] = statuses("s")
        """,
        broken={"Resources": BROKEN_FN},
    )
    assert "NoSuchBucket" in (result["error"] or "")
    assert result["status"].endswith("_IN_PROGRESS")
    assert result["events"][0] == "CREATE_IN_PROGRESS"
    assert not [s for s in result["events"] if s.endswith(("_FAILED", "ROLLBACK_COMPLETE"))]


def test_moto_still_fails_the_call_for_a_failing_resource_on_update():
    """Gap 5 (update): the call fails, the stack's last event is UPDATE_IN_PROGRESS (its status
    is never updated) and there is no rollback."""
    result = unpatched(
        """
        execute("s", templates["v1"], "CREATE")
        result["error"] = execute("s", templates["broken"], "UPDATE")
        result["status"] = stack("s")["StackStatus"]
        result["events"] = statuses("s")
        """,
        v1={"Resources": QUEUE},
        broken={"Resources": {**QUEUE, **BROKEN_FN}},
    )
    assert "NoSuchBucket" in (result["error"] or "")
    assert result["events"][0] == "UPDATE_IN_PROGRESS"
    assert result["status"] == "CREATE_COMPLETE"
    assert not [s for s in result["events"] if s.endswith(("_FAILED", "ROLLBACK_COMPLETE"))]


# --- the server process jiti starts ---------------------------------------------------------


def test_ensure_running_starts_one_patched_server_and_stop_ends_it(tmp_path):
    """The local AWS is started once, reused by the next run, has the fixes, and stops."""
    logged = []
    try:
        state = local_aws.ensure_running(tmp_path, log=logged.append)
        assert state.endpoint.startswith("http://127.0.0.1:")
        assert len(logged) == 1 and state.endpoint in logged[0]
        assert local_aws.running(tmp_path) == state
        assert local_aws.ensure_running(tmp_path, log=logged.append) == state
        assert len(logged) == 1, "the second run must reuse the server, not start another"

        # The server process applies the fidelity fixes: a change set sets outputs.
        cfn = boto3.client(
            "cloudformation",
            region_name=REGION,
            endpoint_url=state.endpoint,
            config=NO_RETRIES,
            **local_aws.CREDENTIALS,
        )
        assert execute(cfn, "served", WITH_OUTPUTS, "CREATE")["Outputs"]

        assert local_aws.stop(tmp_path) is True
        try:
            os.waitpid(state.pid, 0)  # our child: reap it, so it is gone and not a zombie
        except ChildProcessError:
            pass  # reaped already
        with pytest.raises(ProcessLookupError):
            os.kill(state.pid, 0)
        assert local_aws.running(tmp_path) is None
        assert local_aws.stop(tmp_path) is False
    finally:
        local_aws.stop(tmp_path)


def test_moto_still_has_no_termination_protection():
    """Gap 6: UpdateTerminationProtection fails, and a stack created protected is deleted."""
    result = unpatched(
        """
        cfn.create_stack(StackName="s", TemplateBody=json.dumps(templates["queue"]))
        try:
            cfn.update_termination_protection(StackName="s", EnableTerminationProtection=True)
        except Exception as e:
            result["update"] = type(e).__name__
        cfn.create_stack(StackName="p", TemplateBody=json.dumps(templates["queue"]),
                         EnableTerminationProtection=True)
        cfn.delete_stack(StackName="p")
        result["left"] = [s["StackName"] for s in cfn.describe_stacks()["Stacks"]]
        """,
        queue={"Resources": QUEUE},
    )
    assert "update" in result  # not implemented: an error of some kind
    assert result["left"] == ["s"]


def test_moto_still_takes_templates_of_any_size_inline():
    """Gap 7: a TemplateBody far over CloudFormation's 51,200 bytes is accepted."""
    result = unpatched(
        """
        cfn.create_stack(StackName="s", TemplateBody=json.dumps(templates["large"]))
        result["status"] = stack("s")["StackStatus"]
        """,
        large=LARGE,
    )
    assert result == {"status": "CREATE_COMPLETE"}


def test_moto_still_deletes_retain_except_on_create_resources_with_their_stack():
    """Gap 8: moto treats RetainExceptOnCreate as Delete when a stack is deleted."""
    result = unpatched(
        """
        cfn.create_stack(StackName="s", TemplateBody=json.dumps(templates["table"]))
        cfn.delete_stack(StackName="s")
        result["tables"] = boto3.client("dynamodb", region_name="us-east-1").list_tables()["TableNames"]
        """,
        table={"Resources": {"T": table("gap-kept", "RetainExceptOnCreate")}},
    )
    assert result == {"tables": []}


def test_moto_still_ignores_the_expected_bucket_owner():
    """Gap 9: another account's bucket takes the owner's writes."""
    result = unpatched(
        """
        sts = boto3.client("sts", region_name="us-east-1")
        c = sts.assume_role(RoleArn="arn:aws:iam::999999999999:role/x", RoleSessionName="gap")["Credentials"]
        boto3.client("s3", region_name="us-east-1", aws_access_key_id=c["AccessKeyId"],
                     aws_secret_access_key=c["SecretAccessKey"],
                     aws_session_token=c["SessionToken"]).create_bucket(Bucket="gap-squatted")
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.put_object(Bucket="gap-squatted", Key="k", Body=b"x", ExpectedBucketOwner="123456789012")
        result["written"] = True
        """,
    )
    assert result == {"written": True}


def test_moto_still_denies_for_a_condition_that_does_not_hold():
    """Gap 10: a TLS-only policy's Deny denies the owner's own object calls."""
    result = unpatched(
        """
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="fidelity-tls")
        s3.put_bucket_policy(Bucket="fidelity-tls", Policy=json.dumps(templates["policy"]))
        try:
            s3.put_object(Bucket="fidelity-tls", Key="k", Body=b"x")
        except Exception as e:
            result["error"] = str(e)
        """,
        policy=TLS_ONLY,
    )
    assert "AccessDenied" in result.get("error", "") or "403" in result.get("error", "")


# --- change sets, stack policies, deletions and drift (fixes 11 to 14) ----------------------


def queue_and_table(table_name: str, visibility: int = 30) -> dict:
    return {
        "Resources": {
            "Q": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": visibility}},
            "T": table(table_name, "RetainExceptOnCreate"),
        }
    }


def resource_changes(cfn, change_set_id: str, **kwargs) -> dict[str, dict]:
    described = cfn.describe_change_set(ChangeSetName=change_set_id, **kwargs)
    return {
        c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"] for c in described["Changes"]
    }


def test_change_sets_say_what_a_modification_replaces_property_by_property(cfn):
    """Fix 11: a new table name replaces the table (createOnlyProperties), a new visibility
    timeout modifies the queue in place; the values come only with IncludePropertyValues."""
    execute(cfn, "fidelity-replace", queue_and_table("fidelity-replace-a"), "CREATE")
    created = cfn.create_change_set(
        StackName="fidelity-replace",
        ChangeSetName="replace",
        ChangeSetType="UPDATE",
        TemplateBody=json.dumps(queue_and_table("fidelity-replace-b", visibility=45)),
    )
    changes = resource_changes(cfn, created["Id"], IncludePropertyValues=True)
    assert (changes["T"]["Action"], changes["T"]["Replacement"]) == ("Modify", "True")
    assert changes["T"]["Scope"] == ["Properties"]
    assert changes["T"]["Details"] == [
        {
            "Target": {
                "Attribute": "Properties",
                "Name": "TableName",
                "RequiresRecreation": "Always",
                "BeforeValue": "fidelity-replace-a",
                "AfterValue": "fidelity-replace-b",
            },
            "Evaluation": "Static",
            "ChangeSource": "DirectModification",
        }
    ]
    assert changes["Q"]["Replacement"] == "False"
    (detail,) = changes["Q"]["Details"]
    assert detail["Target"]["Name"] == "VisibilityTimeout"
    assert (detail["Target"]["BeforeValue"], detail["Target"]["AfterValue"]) == ("30", "45")
    without_values = resource_changes(cfn, created["Id"])
    assert "BeforeValue" not in without_values["T"]["Details"][0]["Target"]


def test_the_replacing_properties_are_the_registry_schemas_create_only_properties():
    """Fix 11's table is the CloudFormation registry's (as cfn-lint ships it)."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    from jiti_deploy.local_aws.change_sets import CREATE_ONLY

    for resource_type, names in CREATE_ONLY.items():
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(REGION, resource_type).schema
        create_only = {p.split("/")[2] for p in schema.get("createOnlyProperties", [])}
        assert set(names) == create_only, resource_type


def test_a_stack_policy_refuses_the_replacement_it_denies_and_nothing_changes(cfn, endpoint):
    """Fix 12: with jiti's default policy for retained data, a change set replacing the table
    fails as CloudFormation's update does, the table stays, the stack rolls back."""
    from jiti_contract import default_stack_policy

    execute(cfn, "fidelity-policy", queue_and_table("fidelity-policy-a"), "CREATE")
    cfn.set_stack_policy(
        StackName="fidelity-policy", StackPolicyBody=json.dumps(default_stack_policy(("T",)))
    )
    stack = execute(cfn, "fidelity-policy", queue_and_table("fidelity-policy-b"), "UPDATE")
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    failed = [e for e in resource_events(cfn, "fidelity-policy") if e[2] == "UPDATE_FAILED"]
    assert [(e[0], e[1]) for e in failed] == [("T", "AWS::DynamoDB::Table")]
    assert failed[0][3].startswith("Action denied by stack policy")
    tables = boto3.client(
        "dynamodb", region_name=REGION, endpoint_url=endpoint, **local_aws.CREDENTIALS
    ).list_tables()["TableNames"]
    assert "fidelity-policy-a" in tables and "fidelity-policy-b" not in tables
    # What the policy allows still goes through.
    stack = execute(cfn, "fidelity-policy", queue_and_table("fidelity-policy-a", 50), "UPDATE")
    assert stack["StackStatus"] == "UPDATE_COMPLETE"


def test_deleting_a_stack_reports_each_resource_and_what_it_kept(cfn):
    """Fix 13: DELETE_COMPLETE for the queue (after its DELETE_IN_PROGRESS, fix 16),
    DELETE_SKIPPED for the retained table."""
    stack_id = execute(cfn, "fidelity-delete", queue_and_table("fidelity-delete-t"), "CREATE")[
        "StackId"
    ]
    cfn.delete_stack(StackName=stack_id)
    events = cfn.describe_stack_events(StackName=stack_id)["StackEvents"]
    statuses = [(e["LogicalResourceId"], e["ResourceStatus"]) for e in events[:5]]
    assert statuses[0] == ("fidelity-delete", "DELETE_COMPLETE")
    assert set(statuses[1:4]) == {
        ("Q", "DELETE_COMPLETE"),
        ("Q", "DELETE_IN_PROGRESS"),
        ("T", "DELETE_SKIPPED"),
    }
    assert statuses[4] == ("fidelity-delete", "DELETE_IN_PROGRESS")
    kept = [e for e in events if e["ResourceStatus"] == "DELETE_SKIPPED"]
    assert kept[0]["PhysicalResourceId"] == "fidelity-delete-t"


def drift_of(cfn, stack: str) -> tuple[dict, dict[str, dict]]:
    detection = cfn.detect_stack_drift(StackName=stack)["StackDriftDetectionId"]
    status = cfn.describe_stack_drift_detection_status(StackDriftDetectionId=detection)
    drifts = cfn.describe_stack_resource_drifts(StackName=stack)["StackResourceDrifts"]
    return status, {d["LogicalResourceId"]: d for d in drifts}


LAMBDA_ZIP = b"PK\x05\x06" + b"\x00" * 18  # an empty zip: the local AWS never runs it


def sample_resources(endpoint: str) -> dict:
    """One of each resource type the sample apps use, the function's code in a bucket."""
    s3 = s3_of(endpoint)
    s3.create_bucket(Bucket="fidelity-drift-code")
    s3.put_object(Bucket="fidelity-drift-code", Key="fn.zip", Body=LAMBDA_ZIP)
    return {
        "Resources": {
            "Queue": {
                "Type": "AWS::SQS::Queue",
                "Properties": {"QueueName": "fidelity-drift-q", "VisibilityTimeout": 60},
            },
            "Table": table("fidelity-drift-t", "Delete"),
            "Bucket": {
                "Type": "AWS::S3::Bucket",
                "Properties": {
                    "BucketName": "fidelity-drift-b",
                    "VersioningConfiguration": {"Status": "Enabled"},
                },
            },
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "lambda.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    }
                },
            },
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "FunctionName": "fidelity-drift-fn",
                    "Runtime": "python3.11",
                    "Handler": "x.handler",
                    "MemorySize": 256,
                    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                    "Code": {"S3Bucket": "fidelity-drift-code", "S3Key": "fn.zip"},
                    "Environment": {"Variables": {"QUEUE": {"Ref": "Queue"}}},
                },
            },
        }
    }


def test_drift_detection_compares_each_resource_with_its_template(cfn, endpoint):
    """Fix 14: a stack as deployed is IN_SYNC; changed out of band (a queue attribute, a
    function's memory, a bucket's versioning) it is DRIFTED, property by property; a deleted
    table is DELETED."""
    stack = execute(cfn, "fidelity-drift", sample_resources(endpoint), "CREATE")
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    status, drifts = drift_of(cfn, "fidelity-drift")
    assert (status["DetectionStatus"], status["StackDriftStatus"]) == (
        "DETECTION_COMPLETE",
        "IN_SYNC",
    )
    assert {k: d["StackResourceDriftStatus"] for k, d in drifts.items()} == {
        "Bucket": "IN_SYNC",
        "Fn": "IN_SYNC",
        "Queue": "IN_SYNC",
        "Role": "NOT_CHECKED",  # a type the local AWS does not read
        "Table": "IN_SYNC",
    }

    def client(service):
        return boto3.client(
            service, region_name=REGION, endpoint_url=endpoint, **local_aws.CREDENTIALS
        )

    sqs = client("sqs")
    url = sqs.get_queue_url(QueueName="fidelity-drift-q")["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "5"})
    client("lambda").update_function_configuration(FunctionName="fidelity-drift-fn", MemorySize=512)
    client("s3").put_bucket_versioning(
        Bucket="fidelity-drift-b", VersioningConfiguration={"Status": "Suspended"}
    )
    client("dynamodb").delete_table(TableName="fidelity-drift-t")

    status, drifts = drift_of(cfn, "fidelity-drift")
    assert status["StackDriftStatus"] == "DRIFTED" and status["DriftedStackResourceCount"] == 4
    differences = {
        k: [
            (p["PropertyPath"], p["ExpectedValue"], p["ActualValue"])
            for p in d.get("PropertyDifferences", [])
        ]
        for k, d in drifts.items()
    }
    assert differences["Queue"] == [("/VisibilityTimeout", "60", "5")]
    assert differences["Fn"] == [("/MemorySize", "256", "512")]
    assert differences["Bucket"] == [("/VersioningConfiguration/Status", "Enabled", "Suspended")]
    assert drifts["Table"]["StackResourceDriftStatus"] == "DELETED"
    modified = cfn.describe_stack_resource_drifts(
        StackName="fidelity-drift", StackResourceDriftStatusFilters=["DELETED"]
    )["StackResourceDrifts"]
    assert [d["LogicalResourceId"] for d in modified] == ["Table"]


def test_moto_still_has_no_replacement_detail_in_change_sets():
    """Gap 11: a new table name is a Modify with no Replacement, Scope or Details."""
    result = unpatched(
        """
        execute("s", templates["a"], "CREATE")
        created = cfn.create_change_set(StackName="s", ChangeSetName="u", ChangeSetType="UPDATE",
                                        TemplateBody=json.dumps(templates["b"]))
        result["change"] = cfn.describe_change_set(ChangeSetName=created["Id"],
                                                   IncludePropertyValues=True)["Changes"][0]
        """,
        a=queue_and_table("gap-a"),
        b={
            "Resources": {
                **queue_and_table("gap-a")["Resources"],
                "T": table("gap-b", "RetainExceptOnCreate"),
            }
        },
    )
    assert result["change"]["ResourceChange"] == {
        "Action": "Modify",
        "LogicalResourceId": "T",
        "ResourceType": "AWS::DynamoDB::Table",
    }


def test_moto_still_does_not_enforce_stack_policies():
    """Gap 12: a policy denying every update is stored, and the update goes through."""
    result = unpatched(
        """
        execute("s", templates["a"], "CREATE")
        cfn.set_stack_policy(StackName="s", StackPolicyBody=json.dumps(templates["deny"]))
        result["error"] = execute("s", templates["b"], "UPDATE")
        result["status"] = stack("s")["StackStatus"]
        """,
        a=queue_and_table("gap-policy-a"),
        b=queue_and_table("gap-policy-b"),
        deny={
            "Statement": [
                {"Effect": "Deny", "Action": "Update:*", "Principal": "*", "Resource": "*"}
            ]
        },
    )
    assert result == {"error": None, "status": "UPDATE_COMPLETE"}


def test_moto_still_reports_no_resource_events_when_deleting_a_stack():
    """Gap 13: only the stack's own DELETE_IN_PROGRESS and DELETE_COMPLETE."""
    result = unpatched(
        """
        cfn.create_stack(StackName="s", TemplateBody=json.dumps(templates["a"]))
        stack_id = stack("s")["StackId"]
        cfn.delete_stack(StackName=stack_id)
        result["events"] = [(e["LogicalResourceId"], e["ResourceStatus"])
                            for e in cfn.describe_stack_events(StackName=stack_id)["StackEvents"][:2]]
        """,
        a=queue_and_table("gap-delete"),
    )
    assert result["events"] == [["s", "DELETE_COMPLETE"], ["s", "DELETE_IN_PROGRESS"]]


def test_moto_still_has_no_drift_detection():
    """Gap 14: DetectStackDrift is not implemented."""
    result = unpatched(
        """
        cfn.create_stack(StackName="s", TemplateBody=json.dumps(templates["a"]))
        try:
            cfn.detect_stack_drift(StackName="s")
        except Exception as e:
            result["error"] = type(e).__name__
        """,
        a={"Resources": QUEUE},
    )
    assert "error" in result


def test_moto_still_drops_a_table_that_an_update_changes():
    """Gap 15: after an update that renames a table, the stack cannot be described."""
    result = unpatched(
        """
        cfn.create_stack(StackName="s", TemplateBody=json.dumps(templates["v1"]))
        cfn.update_stack(StackName="s", TemplateBody=json.dumps(templates["v2"]))
        try:
            result["outputs"] = stack("s").get("Outputs")
        except Exception as e:
            result["error"] = str(e)
        """,
        v1=named_table("gap-t1"),
        v2=named_table("gap-t2"),
    )
    assert "references undefined resource T" in result.get("error", ""), result
