"""The deploy runtime against what only real AWS shows (moto cannot produce these states):
boto3 clients answered by botocore Stubbers with responses shaped like the CloudFormation API
reference, and a record of every call made, so a test also proves what was *not* called."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.stub import ANY, Stubber

from jiti_contract import Manifest, Plan
from jiti_deploy import bucket_settings, changes, live, record, runner
from jiti_deploy.deployment import Deployment
from jiti_deploy.destinations import CLIENT_CONFIG, Destination
from jiti_deploy.errors import DeployError
from jiti_deploy.report import Result
from jiti_deploy.testutil import one_by_one, stub_a_hardened_bucket

REGION = "us-east-1"
ACCOUNT = "123456789012"
STACK = "demo-dev"
STACK_ID = (
    f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK}/8c3e6f90-07a1-11ef-9b1e-0a1b2c3d4e5f"
)
CHANGE_SET_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:changeSet/jiti-1714557600000/5d2a0c44-5b1e-4a8e-9a77-3f0e1d2c3b4a"
OLD_VERSION = hashlib.sha256(b"old").hexdigest()
NEW_VERSION = hashlib.sha256(b"new").hexdigest()
T0 = datetime(2024, 5, 1, 10, 0, 0, tzinfo=timezone.utc)
TEMPLATE = {
    "Resources": {
        "Fn": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Runtime": "python3.11",
                "Handler": "app.handler",
                "Role": f"arn:aws:iam::{ACCOUNT}:role/demo",
                "Code": {"S3Bucket": "jiti-assets", "S3Key": "assets/missing.zip"},
            },
        }
    }
}


class StubbedAws:
    """A Destination whose clients are real boto3 clients answered by Stubbers."""

    def __init__(self, monkeypatch):
        session = boto3.Session(
            region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
        )
        self.target = Destination(session, endpoint_url=None, local=True)
        self.calls: list[str] = []
        self.clients, self.stubs = {}, {}
        for service in ("cloudformation", "s3", "sts"):
            client = session.client(service, config=CLIENT_CONFIG)
            # Fires for every call, before the Stubber answers (or refuses) it.
            client.meta.events.register("provide-client-params", self._record)
            self.clients[service] = client
            self.stubs[service] = Stubber(client)
            self.stubs[service].activate()
        monkeypatch.setattr(Destination, "client", lambda _, service: self.clients[service])
        monkeypatch.setattr(bucket_settings, "at_once", one_by_one)

    def _record(self, event_name, **_):
        self.calls.append(event_name.split(".", 1)[1])  # e.g. cloudformation.DescribeStacks

    @property
    def cfn(self) -> Stubber:
        return self.stubs["cloudformation"]

    def close(self):
        for stub in self.stubs.values():
            stub.deactivate()

    def assert_all_answered(self):
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()


@pytest.fixture
def aws(monkeypatch):
    stubbed = StubbedAws(monkeypatch)
    yield stubbed
    stubbed.close()


@pytest.fixture
def deployment(tmp_path) -> Deployment:
    """A packaged stack as the build writes it: manifest and template side by side."""
    template = json.dumps(TEMPLATE, sort_keys=True, indent=2) + "\n"
    (tmp_path / "stack.template.json").write_text(template)
    manifest = Manifest(
        address="apps/demo:stack",
        app="demo",
        version=NEW_VERSION,
        template="stack.template.json",
        template_sha256=hashlib.sha256(template.encode()).hexdigest(),
        assets=(),
        parameters={},
        tags={},
        description=None,
    )
    manifest_path = tmp_path / "stack.manifest.json"
    manifest_path.write_text(manifest.to_json())
    plan = Plan(
        address="apps/demo:deploy",
        name="deploy",
        app="demo",
        stack_name=STACK,
        environment="dev",
        manifest="stack.manifest.json",
    )
    return Deployment(plan, manifest, manifest_path, tmp_path / "out" / "demo.outputs.json")


def described_stack(
    status: str, *, tags: dict, outputs: dict | None = None, record=None, reason=None
) -> dict:
    """One entry of DescribeStacks' `Stacks`, as CloudFormation returns it."""
    stack = {
        "StackId": STACK_ID,
        "StackName": STACK,
        "CreationTime": T0,
        "LastUpdatedTime": T0,
        "StackStatus": status,
        "DisableRollback": False,
        "NotificationARNs": [],
        "RollbackConfiguration": {},
        "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
        "EnableTerminationProtection": False,
        "DriftInformation": {"StackDriftStatus": "NOT_CHECKED"},
    }
    if outputs or record:
        stack["Outputs"] = (
            [{"OutputKey": k, "OutputValue": v, "Description": k} for k, v in outputs.items()]
            if outputs
            else []
        )
        stack["Outputs"] += [
            {
                "OutputKey": k,
                "OutputValue": v,
                "Description": "Recorded by jiti: not an output of the app",
            }
            for k, v in (record or {}).items()
        ]
    if reason:
        stack["StackStatusReason"] = reason
    return stack


def event(n: int, logical_id: str, resource_type: str, status: str, reason=None) -> dict:
    """One StackEvent; `n` orders them (seconds after T0)."""
    stack_level = resource_type == "AWS::CloudFormation::Stack"
    at = T0.replace(second=n)
    e = {
        "StackId": STACK_ID,
        "StackName": STACK,
        # AWS's own forms: a UUID for the stack's events, `<id>-<status>-<time>` for resources'
        "EventId": (
            f"0d1f6e2c-0000-4000-8000-{n:012d}"
            if stack_level
            else f"{logical_id}-{status}-{at.isoformat(timespec='milliseconds')[:-6]}Z"
        ),
        "LogicalResourceId": logical_id,
        "PhysicalResourceId": STACK_ID if stack_level else f"{STACK}-{logical_id}",
        "ResourceType": resource_type,
        "Timestamp": at,
        "ResourceStatus": status,
    }
    if reason:
        e["ResourceStatusReason"] = reason
    return e


def stack_event(n: int, status: str, reason=None) -> dict:
    return event(n, STACK, "AWS::CloudFormation::Stack", status, reason)


def jiti_state(deployment: Deployment, version: str) -> dict:
    """What a stack jiti deployed at `version` shows: its ownership tags, and its record
    (outputs of the template jiti sent)."""
    return {
        "tags": {"jiti:app": "demo", "jiti:env": "dev", "jiti:deployment": deployment.address},
        "record": {"JitiVersion": version, "JitiConfig": deployment.config_hash()},
    }


# --- what the live stack's state allows -----------------------------------------------------


def test_update_rollback_failed_stack_is_refused_with_the_recovery_command(aws, deployment):
    """A stack stuck in UPDATE_ROLLBACK_FAILED must not be touched; the user is told to run
    continue-update-rollback for it, and nothing but the one read is done."""
    aws.cfn.add_response(
        "describe_stacks",
        {
            "Stacks": [
                described_stack(
                    "UPDATE_ROLLBACK_FAILED",
                    **jiti_state(deployment, OLD_VERSION),
                    reason="The following resource(s) failed to update: [Fn]. ",
                )
            ]
        },
        {"StackName": STACK},
    )
    with pytest.raises(DeployError) as failure:
        runner.deploy(aws.target, deployment, log=lambda _: None)
    message = str(failure.value)
    assert "UPDATE_ROLLBACK_FAILED" in message
    assert f"aws cloudformation continue-update-rollback --stack-name {STACK}" in message
    assert aws.calls == ["cloudformation.DescribeStacks"]
    aws.assert_all_answered()


@pytest.mark.parametrize("status", ["UPDATE_IN_PROGRESS", "UPDATE_ROLLBACK_IN_PROGRESS"])
def test_a_busy_stack_is_waited_for_then_read_again(aws, deployment, status):
    """Another deploy (a second CI job) is running on the stack: wait for it to end, with a
    message, then decide again; here it deployed this very version, so nothing more is done."""
    busy = {"Stacks": [described_stack(status, **jiti_state(deployment, OLD_VERSION))]}
    done = {"Stacks": [described_stack("UPDATE_COMPLETE", **jiti_state(deployment, NEW_VERSION))]}
    aws.cfn.add_response("describe_stacks", busy, {"StackName": STACK})
    aws.cfn.add_response("describe_stacks", busy, {"StackName": STACK})
    aws.cfn.add_response("describe_stacks", done, {"StackName": STACK})
    logged = []
    assert runner.deploy(aws.target, deployment, log=logged.append) is Result.UP_TO_DATE
    assert logged[0] == f"{STACK} is {status}: another deploy is running; waiting up to 15 minutes"
    assert aws.calls == ["cloudformation.DescribeStacks"] * 3
    aws.assert_all_answered()


def test_a_stack_busy_for_too_long_is_refused(aws, deployment, monkeypatch):
    monkeypatch.setattr(runner, "BUSY_WAIT_S", 0)
    busy = {
        "Stacks": [described_stack("UPDATE_IN_PROGRESS", **jiti_state(deployment, OLD_VERSION))]
    }
    aws.cfn.add_response("describe_stacks", busy, {"StackName": STACK})
    with pytest.raises(DeployError, match=rf"{STACK} is still UPDATE_IN_PROGRESS after 0 minutes"):
        runner.deploy(aws.target, deployment, log=lambda _: None)
    assert aws.calls == ["cloudformation.DescribeStacks"]


def test_a_stale_failed_create_status_deletes_nothing(aws, deployment):
    """The batched read said ROLLBACK_COMPLETE, but by the time of the delete another job has
    recreated the stack: it is read again first, and nothing is deleted."""
    stale = live.LiveStack.from_description(
        described_stack("ROLLBACK_COMPLETE", **jiti_state(deployment, OLD_VERSION))
    )
    healthy = described_stack("CREATE_COMPLETE", **jiti_state(deployment, OLD_VERSION))
    healthy["StackId"] = STACK_ID.replace("8c3e6f90", "11111111")
    aws.cfn.add_response("describe_stacks", {"Stacks": [healthy]}, {"StackName": STACK})
    with pytest.raises(DeployError, match=f"{STACK} changed while this deploy ran"):
        runner.deploy(aws.target, deployment, log=lambda _: None, current=stale)
    assert aws.calls == ["cloudformation.DescribeStacks"]  # and no DeleteStack
    aws.assert_all_answered()


def rolled_back_create_events(queues: int) -> list[dict]:
    """A failed create's events, newest first, as DescribeStackEvents returns them ("in reverse
    chronological order", API reference): `queues` queues made and deleted, the table made and
    kept (DELETE_SKIPPED, DeletionPolicy Retain), a function that failed."""
    made = [f"Queue{i}" for i in range(queues)]
    oldest = [stack_event(0, "REVIEW_IN_PROGRESS", "User Initiated")]
    oldest.append(stack_event(1, "CREATE_IN_PROGRESS", "User Initiated"))
    for i, logical_id in enumerate(["Table", *made]):
        kind = "AWS::DynamoDB::Table" if logical_id == "Table" else "AWS::SQS::Queue"
        oldest += [event(2, logical_id, kind, "CREATE_IN_PROGRESS")]
        oldest += [event(2, logical_id, kind, "CREATE_IN_PROGRESS", "Resource creation Initiated")]
        oldest += [event(3, logical_id, kind, "CREATE_COMPLETE")]
    oldest += [event(4, "Fn", "AWS::Lambda::Function", "CREATE_FAILED", "NoSuchBucket")]
    oldest += [stack_event(5, "ROLLBACK_IN_PROGRESS", "The following resource(s) failed")]
    oldest += [event(6, "Table", "AWS::DynamoDB::Table", "DELETE_SKIPPED")]
    for logical_id in made:
        oldest += [event(7, logical_id, "AWS::SQS::Queue", "DELETE_IN_PROGRESS")]
        oldest += [event(8, logical_id, "AWS::SQS::Queue", "DELETE_COMPLETE")]
    oldest += [stack_event(9, "ROLLBACK_COMPLETE")]
    for i, e in enumerate(oldest):  # event ids unique, as AWS's are
        e["EventId"] = f"{e['EventId']}-{i}"
    return list(reversed(oldest))


def test_a_retained_resource_on_a_later_page_of_events_is_never_collided_with(aws, deployment):
    """A create of 60 queues and a retained table failed: CloudFormation's events, newest first
    in pages (DescribeStackEvents API reference: NextToken; 100 events a page, as observed in
    ansible/ansible#41840), put the table's DELETE_SKIPPED on page 2. It is read there: the
    table is named and the stack is not deleted, since a new create would collide with it."""
    tags = jiti_state(deployment, OLD_VERSION)
    failed = described_stack("ROLLBACK_COMPLETE", **tags)
    stale = live.LiveStack.from_description(failed)
    history = rolled_back_create_events(60)
    assert [e["ResourceStatus"] for e in history[:100]].count("DELETE_SKIPPED") == 0
    aws.cfn.add_response("describe_stacks", {"Stacks": [failed]}, {"StackName": STACK})
    first = {"StackEvents": history[:100], "NextToken": "page-2"}
    aws.cfn.add_response("describe_stack_events", first, {"StackName": STACK_ID})
    second = {"StackEvents": history[100:]}
    aws.cfn.add_response(
        "describe_stack_events", second, {"StackName": STACK_ID, "NextToken": "page-2"}
    )
    with pytest.raises(DeployError, match=r"(?s)kept resources.*Table \(AWS::DynamoDB::Table\)"):
        runner.deploy(aws.target, deployment, log=lambda _: None, current=stale)
    assert "cloudformation.DeleteStack" not in aws.calls
    aws.assert_all_answered()


def test_live_stack_at_this_version_and_config_is_up_to_date_after_one_read(aws, deployment):
    """Skipping what is live costs one DescribeStacks, and still writes the outputs file."""
    aws.cfn.add_response(
        "describe_stacks",
        {
            "Stacks": [
                described_stack(
                    "CREATE_COMPLETE",
                    **jiti_state(deployment, NEW_VERSION),
                    outputs={"ApiUrl": "https://abc123.execute-api.us-east-1.amazonaws.com/live"},
                )
            ]
        },
        {"StackName": STACK},
    )
    logged = []
    assert runner.deploy(aws.target, deployment, log=logged.append) is Result.UP_TO_DATE
    assert aws.calls == ["cloudformation.DescribeStacks"]
    aws.assert_all_answered()
    assert logged == [f"{STACK}: up to date (version {NEW_VERSION[:12]})"]
    assert json.loads(deployment.outputs_file.read_text()) == {
        "ApiUrl": "https://abc123.execute-api.us-east-1.amazonaws.com/live"
    }


# --- a failed execution, reported from the stack's events -----------------------------------

OLD_EVENTS = [  # newest first, as DescribeStackEvents lists them
    stack_event(2, "CREATE_COMPLETE"),
    event(1, "Fn", "AWS::Lambda::Function", "CREATE_COMPLETE"),
    stack_event(0, "CREATE_IN_PROGRESS", "User Initiated"),
]
UPDATE_FAILED_REASON = (
    'Resource handler returned message: "Error occurred while GetObject. S3 Error Code: '
    "NoSuchKey. S3 Error Message: The specified key does not exist. (Service: Lambda, "
    'Status Code: 400, Request ID: 6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d)" '
    "(RequestToken: 1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d, HandlerErrorCode: InvalidRequest)"
)
ROLLED_BACK_EVENTS = [  # what an update whose Fn change failed adds, newest first
    stack_event(17, "UPDATE_ROLLBACK_COMPLETE"),
    stack_event(16, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"),
    event(15, "Fn", "AWS::Lambda::Function", "UPDATE_COMPLETE"),
    event(14, "Fn", "AWS::Lambda::Function", "UPDATE_IN_PROGRESS"),
    stack_event(
        13, "UPDATE_ROLLBACK_IN_PROGRESS", "The following resource(s) failed to update: [Fn]. "
    ),
    event(12, "Fn", "AWS::Lambda::Function", "UPDATE_FAILED", UPDATE_FAILED_REASON),
    event(11, "Fn", "AWS::Lambda::Function", "UPDATE_IN_PROGRESS"),
    stack_event(10, "UPDATE_IN_PROGRESS", "User Initiated"),
]


def stub_older_version_live(aws, old_state: dict) -> None:
    """The reads before an update: the live stack (at an older version), the account, the
    assets bucket."""
    aws.cfn.add_response(
        "describe_stacks",
        {"Stacks": [described_stack("UPDATE_COMPLETE", **old_state)]},
        {"StackName": STACK},
    )
    aws.stubs["sts"].add_response(
        "get_caller_identity",
        {"UserId": "AIDAEXAMPLE", "Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/ci"},
        {},
    )
    aws.stubs["s3"].add_response(
        "head_bucket",
        {},
        {"Bucket": f"jiti-assets-{ACCOUNT}-{REGION}", "ExpectedBucketOwner": ACCOUNT},
    )
    stub_a_hardened_bucket(aws.stubs["s3"], f"jiti-assets-{ACCOUNT}-{REGION}", ACCOUNT)


def test_failed_update_reports_the_failed_resource_and_how_to_recover(aws, deployment):
    """The change set is executed, the stack rolls back: the DeployError names the resource,
    its type and CloudFormation's reason, and says the previous version is still live."""
    cfn, old_state = aws.cfn, jiti_state(deployment, OLD_VERSION)
    stub_older_version_live(aws, old_state)
    cfn.add_response(
        "create_change_set",
        {"Id": CHANGE_SET_ID, "StackId": STACK_ID},
        {
            "StackName": STACK,
            "ChangeSetName": ANY,
            "ChangeSetType": "UPDATE",
            "Parameters": [],
            "Tags": ANY,
            "Capabilities": [],
            "TemplateBody": record.template_text(deployment),
        },
    )
    change_set = {
        "ChangeSetName": "jiti-1714557600000",
        "ChangeSetId": CHANGE_SET_ID,
        "StackId": STACK_ID,
        "StackName": STACK,
        "CreationTime": T0,
        "ExecutionStatus": "AVAILABLE",
        "Status": "CREATE_COMPLETE",
        "Changes": [
            {
                "Type": "Resource",
                "ResourceChange": {
                    "Action": "Modify",
                    "LogicalResourceId": "Fn",
                    "PhysicalResourceId": f"{STACK}-Fn",
                    "ResourceType": "AWS::Lambda::Function",
                    "Replacement": "False",
                    "Scope": ["Properties"],
                },
            }
        ],
    }
    cfn.add_response("describe_change_set", change_set, {"ChangeSetName": CHANGE_SET_ID})  # waiter
    cfn.add_response(  # changes, with their values
        "describe_change_set",
        change_set,
        {"ChangeSetName": CHANGE_SET_ID, "IncludePropertyValues": True},
    )
    cfn.add_response(  # read again right before executing
        "describe_stacks",
        {"Stacks": [described_stack("UPDATE_COMPLETE", **old_state)]},
        {"StackName": STACK},
    )
    cfn.add_response(  # no stack policy in the deployment: one allowing every update
        "set_stack_policy",
        {},
        {"StackName": STACK, "StackPolicyBody": json.dumps(runner.ALLOW_ALL, sort_keys=True)},
    )
    cfn.add_response("describe_stack_events", {"StackEvents": OLD_EVENTS}, {"StackName": STACK_ID})
    cfn.add_response("execute_change_set", {}, {"ChangeSetName": CHANGE_SET_ID})
    cfn.add_response(
        "describe_stacks",
        {"Stacks": [described_stack("UPDATE_ROLLBACK_COMPLETE", **old_state)]},
        {"StackName": STACK_ID},
    )
    cfn.add_response(
        "describe_stack_events",
        {"StackEvents": ROLLED_BACK_EVENTS + OLD_EVENTS},
        {"StackName": STACK_ID},
    )

    logged = []
    with pytest.raises(DeployError) as failure:
        runner.deploy(aws.target, deployment, log=logged.append)
    assert str(failure.value).splitlines() == [
        f"{STACK}: deployment failed, stack is UPDATE_ROLLBACK_COMPLETE",
        f"  Fn (AWS::Lambda::Function): {UPDATE_FAILED_REASON}",
        "  The stack was rolled back to its previous version, which is still live; fix the cause and deploy again.",
    ]
    aws.assert_all_answered()
    assert aws.calls[-3:] == [
        "cloudformation.ExecuteChangeSet",
        "cloudformation.DescribeStacks",
        "cloudformation.DescribeStackEvents",
    ]
    # Every new event was shown once, oldest first; none of the earlier deployment's.
    progress = [line for line in logged if line.startswith("  ") and "_" in line.split()[0]]
    assert [line.split()[0] for line in progress] == [
        e["ResourceStatus"] for e in reversed(ROLLED_BACK_EVENTS)
    ]
    assert not deployment.outputs_file.exists()


def test_failure_message_for_a_failed_rollback_says_to_continue_it(deployment):
    """UPDATE_ROLLBACK_FAILED after an execute: every failed resource, then the command."""
    failed = [
        event(12, "Fn", "AWS::Lambda::Function", "UPDATE_FAILED", UPDATE_FAILED_REASON),
        event(20, "Fn", "AWS::Lambda::Function", "UPDATE_FAILED", "Function not found"),
        event(21, "Table", "AWS::DynamoDB::Table", "UPDATE_COMPLETE"),
        event(22, "Queue", "AWS::SQS::Queue", "UPDATE_FAILED"),  # AWS gives no reason at times
    ]
    assert runner._failure_message(deployment, "UPDATE_ROLLBACK_FAILED", failed).splitlines() == [
        f"{STACK}: deployment failed, stack is UPDATE_ROLLBACK_FAILED",
        f"  Fn (AWS::Lambda::Function): {UPDATE_FAILED_REASON}",
        "  Fn (AWS::Lambda::Function): Function not found",
        "  Queue (AWS::SQS::Queue): no reason given",
        f"  Fix the resources above, run `aws cloudformation continue-update-rollback --stack-name {STACK}`, then deploy again.",
    ]


# --- change sets without changes ------------------------------------------------------------


def create_change_set(cfn) -> changes.ChangeSet:
    return changes.create(
        cfn,
        stack_name=STACK,
        kind="UPDATE",
        template={"TemplateBody": json.dumps(TEMPLATE)},
        parameters={},
        tags={"jiti:app": "demo"},
        capabilities=(),
        role_arn=None,
    )


def test_change_set_that_did_not_contain_changes_is_empty_and_deleted(aws):
    """AWS creates the change set, then fails it for having no changes: that is an empty
    change set, not an error, and the failed change set is not left behind."""
    cfn = aws.cfn
    cfn.add_response("create_change_set", {"Id": CHANGE_SET_ID, "StackId": STACK_ID})
    failed = {
        "ChangeSetName": "jiti-1714557600000",
        "ChangeSetId": CHANGE_SET_ID,
        "StackId": STACK_ID,
        "StackName": STACK,
        "CreationTime": T0,
        "ExecutionStatus": "UNAVAILABLE",
        "Status": "FAILED",
        "StatusReason": "The submitted information didn't contain changes. Submit different information to create a change set.",
        "Changes": [],
    }
    cfn.add_response("describe_change_set", failed, {"ChangeSetName": CHANGE_SET_ID})  # waiter
    cfn.add_response("describe_change_set", failed, {"ChangeSetName": CHANGE_SET_ID})  # reason
    cfn.add_response("delete_change_set", {}, {"ChangeSetName": CHANGE_SET_ID})

    change_set = create_change_set(aws.clients["cloudformation"])
    assert change_set.empty and change_set.id == ""
    assert change_set.stack_id == STACK_ID
    aws.assert_all_answered()
    assert aws.calls[-1] == "cloudformation.DeleteChangeSet"


def test_change_set_failed_for_another_reason_is_an_error(aws):
    """Any other FAILED change set stops the deployment with CloudFormation's reason."""
    cfn = aws.cfn
    cfn.add_response("create_change_set", {"Id": CHANGE_SET_ID, "StackId": STACK_ID})
    failed = {
        "ChangeSetId": CHANGE_SET_ID,
        "StackId": STACK_ID,
        "Status": "FAILED",
        "StatusReason": "Template format error: Unresolved resource dependencies [Bucket] in the Resources block of the template",
    }
    cfn.add_response("describe_change_set", failed, {"ChangeSetName": CHANGE_SET_ID})
    cfn.add_response("describe_change_set", failed, {"ChangeSetName": CHANGE_SET_ID})
    with pytest.raises(DeployError, match=r"Unresolved resource dependencies \[Bucket\]"):
        create_change_set(aws.clients["cloudformation"])
    aws.assert_all_answered()


def test_no_updates_to_be_performed_is_an_empty_change_set(aws):
    """CreateChangeSet refused with "No updates are to be performed.": nothing to change."""
    aws.cfn.add_client_error(
        "create_change_set",
        service_error_code="ValidationError",
        service_message="No updates are to be performed.",
        http_status_code=400,
    )
    change_set = create_change_set(aws.clients["cloudformation"])
    assert change_set.empty and change_set.id == "" and change_set.kind == "UPDATE"
    assert aws.calls == ["cloudformation.CreateChangeSet"]
    aws.assert_all_answered()


def test_a_change_set_without_changes_applies_the_new_template_and_values(aws, deployment):
    """CloudFormation fails a change set that changes no resource (a change to outputs,
    metadata or descriptions, or a parameter no resource uses). The new template, parameter
    values and tags still reach the stack: the live template is always the one the version
    names, never the previous one."""
    deployment = dataclasses.replace(
        deployment,
        plan=dataclasses.replace(deployment.plan, parameters={"Retention": "30"}),
        manifest=dataclasses.replace(
            deployment.manifest, parameters={"Retention": {"Type": "Number"}}
        ),
    )
    old_tags = jiti_state(deployment, OLD_VERSION)
    stub_older_version_live(aws, old_tags)
    stub_change_set_without_changes(aws, old_tags)
    update = {
        "StackName": STACK,
        "TemplateBody": record.template_text(deployment),
        "Parameters": [{"ParameterKey": "Retention", "ParameterValue": "30"}],
        "Tags": ANY,
        "Capabilities": [],
    }
    stub_update_followed(aws, deployment, busy_reads=0, update=update)

    assert runner.deploy(aws.target, deployment, log=lambda _: None) is Result.DEPLOYED
    aws.assert_all_answered()
    assert "cloudformation.ExecuteChangeSet" not in aws.calls


UPDATED_EVENTS = [stack_event(11, "UPDATE_COMPLETE"), stack_event(10, "UPDATE_IN_PROGRESS")]


def stub_update_followed(aws, deployment: Deployment, busy_reads: int, update=None) -> None:
    """UpdateStack (called with `update`, when given), then the stack followed by its id: `busy_reads` reads in
    UPDATE_IN_PROGRESS, then UPDATE_COMPLETE with its own new event."""
    cfn = aws.cfn
    new_tags = jiti_state(deployment, NEW_VERSION)
    cfn.add_response("describe_stack_events", {"StackEvents": OLD_EVENTS}, {"StackName": STACK_ID})
    cfn.add_response("update_stack", {"StackId": STACK_ID}, update)
    for _ in range(busy_reads):
        busy = described_stack("UPDATE_IN_PROGRESS", **new_tags)
        cfn.add_response("describe_stacks", {"Stacks": [busy]}, {"StackName": STACK_ID})
        cfn.add_response(
            "describe_stack_events",
            {"StackEvents": UPDATED_EVENTS[1:] + OLD_EVENTS},
            {"StackName": STACK_ID},
        )
    settled = {"Stacks": [described_stack("UPDATE_COMPLETE", **new_tags)]}
    cfn.add_response("describe_stacks", settled, {"StackName": STACK_ID})
    cfn.add_response(
        "describe_stack_events",
        {"StackEvents": UPDATED_EVENTS + OLD_EVENTS},
        {"StackName": STACK_ID},
    )


def test_an_update_longer_than_a_waiter_is_followed_to_its_end(aws, deployment, monkeypatch):
    """A botocore waiter gives up after a fixed number of reads (`WAIT`: 15 minutes; here 2)
    and raises a raw WaiterError, while a CloudFormation update may last much longer (it ends
    when every resource is done, or times out as the template says). The stack is followed
    until its own new event says the update ended. Source: the CloudFormation API reference,
    UpdateStack ("Use the DescribeStacks action to view the status of the update") and
    DescribeStackEvents (stack-level events have the stack's id as PhysicalResourceId)."""
    monkeypatch.setattr(runner, "WAIT", {"Delay": 0, "MaxAttempts": 2}, raising=False)
    old_tags = jiti_state(deployment, OLD_VERSION)
    stub_older_version_live(aws, old_tags)
    stub_change_set_without_changes(aws, old_tags)
    stub_update_followed(aws, deployment, busy_reads=3)
    logged = []
    assert runner.deploy(aws.target, deployment, log=logged.append) is Result.DEPLOYED
    aws.assert_all_answered()
    assert f"{STACK}: deployed version {NEW_VERSION[:12]}" in logged


def stub_change_set_without_changes(aws, old_state: dict) -> None:
    """A change set CloudFormation fails for having no changes, then the read and the stack
    policy before the update."""
    cfn = aws.cfn
    cfn.add_response("create_change_set", {"Id": CHANGE_SET_ID, "StackId": STACK_ID})
    failed = {
        "ChangeSetId": CHANGE_SET_ID,
        "StackId": STACK_ID,
        "Status": "FAILED",
        "StatusReason": "The submitted information didn't contain changes. Submit different information to create a change set.",
    }
    cfn.add_response("describe_change_set", failed, {"ChangeSetName": CHANGE_SET_ID})  # waiter
    cfn.add_response("describe_change_set", failed, {"ChangeSetName": CHANGE_SET_ID})  # reason
    cfn.add_response("delete_change_set", {}, {"ChangeSetName": CHANGE_SET_ID})
    cfn.add_response(
        "describe_stacks",
        {"Stacks": [described_stack("UPDATE_COMPLETE", **old_state)]},
        {"StackName": STACK},
    )
    cfn.add_response("set_stack_policy", {}, {"StackName": STACK, "StackPolicyBody": ANY})


# --- rollback triggers, notifications, disable_rollback (what the local AWS ignores) -------

FAILED_WITHOUT_ROLLBACK_EVENTS = [  # an update whose Fn change failed, rollback disabled
    stack_event(12, "UPDATE_FAILED", "The following resource(s) failed to update: [Fn]. "),
    event(11, "Fn", "AWS::Lambda::Function", "UPDATE_FAILED", UPDATE_FAILED_REASON),
    event(10, "Fn", "AWS::Lambda::Function", "UPDATE_IN_PROGRESS"),
]


def test_rollback_triggers_notifications_and_disable_rollback_reach_cloudformation(aws, deployment):
    """Alarm names become alarm ARNs in the stack's account and region, the topics go with the
    change set, `disable_rollback` with its execution; the stack then stays as it failed, and
    the message says why."""
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:deploys"
    latency = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:latency"
    deployment = dataclasses.replace(
        deployment,
        plan=dataclasses.replace(
            deployment.plan,
            rollback_alarms=("errors", latency),
            rollback_monitoring_minutes=10,
            notification_arns=(topic,),
            disable_rollback=True,
        ),
    )
    cfn, old_state = aws.cfn, jiti_state(deployment, OLD_VERSION)
    stub_older_version_live(aws, old_state)
    cfn.add_response(
        "create_change_set",
        {"Id": CHANGE_SET_ID, "StackId": STACK_ID},
        {
            "StackName": STACK,
            "ChangeSetName": ANY,
            "ChangeSetType": "UPDATE",
            "Parameters": [],
            "Tags": ANY,
            "Capabilities": [],
            "TemplateBody": record.template_text(deployment),
            "RollbackConfiguration": {
                "RollbackTriggers": [
                    {
                        "Arn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:errors",
                        "Type": "AWS::CloudWatch::Alarm",
                    },
                    {"Arn": latency, "Type": "AWS::CloudWatch::Alarm"},
                ],
                "MonitoringTimeInMinutes": 10,
            },
            "NotificationARNs": [topic],
        },
    )
    change_set = {
        "ChangeSetId": CHANGE_SET_ID,
        "StackId": STACK_ID,
        "Status": "CREATE_COMPLETE",
        "Changes": [
            {
                "Type": "Resource",
                "ResourceChange": {
                    "Action": "Modify",
                    "LogicalResourceId": "Fn",
                    "ResourceType": "AWS::Lambda::Function",
                    "Replacement": "False",
                },
            }
        ],
    }
    cfn.add_response("describe_change_set", change_set, {"ChangeSetName": CHANGE_SET_ID})
    cfn.add_response(
        "describe_change_set",
        change_set,
        {"ChangeSetName": CHANGE_SET_ID, "IncludePropertyValues": True},
    )
    cfn.add_response(
        "describe_stacks",
        {"Stacks": [described_stack("UPDATE_COMPLETE", **old_state)]},
        {"StackName": STACK},
    )
    cfn.add_response("set_stack_policy", {}, {"StackName": STACK, "StackPolicyBody": ANY})
    cfn.add_response("describe_stack_events", {"StackEvents": OLD_EVENTS}, {"StackName": STACK_ID})
    cfn.add_response(
        "execute_change_set", {}, {"ChangeSetName": CHANGE_SET_ID, "DisableRollback": True}
    )
    cfn.add_response(
        "describe_stacks",
        {"Stacks": [described_stack("UPDATE_FAILED", **old_state)]},
        {"StackName": STACK_ID},
    )
    cfn.add_response(
        "describe_stack_events",
        {"StackEvents": FAILED_WITHOUT_ROLLBACK_EVENTS + OLD_EVENTS},
        {"StackName": STACK_ID},
    )
    with pytest.raises(DeployError) as failure:
        runner.deploy(aws.target, deployment, log=lambda _: None)
    lines = str(failure.value).splitlines()
    assert lines[0] == f"{STACK}: deployment failed, stack is UPDATE_FAILED"
    assert "Rollback is disabled for this deployment" in lines[-1]
    aws.assert_all_answered()


# --- the stack moves while a deploy runs ----------------------------------------------------


def stub_change_set_made(aws, deployment: Deployment) -> None:
    """An UPDATE change set that modifies Fn, made and described."""
    cfn = aws.cfn
    cfn.add_response("create_change_set", {"Id": CHANGE_SET_ID, "StackId": STACK_ID})
    change_set = {
        "ChangeSetName": "jiti-1714557600000",
        "ChangeSetId": CHANGE_SET_ID,
        "StackId": STACK_ID,
        "StackName": STACK,
        "CreationTime": T0,
        "ExecutionStatus": "AVAILABLE",
        "Status": "CREATE_COMPLETE",
        "Changes": [
            {
                "Type": "Resource",
                "ResourceChange": {
                    "Action": "Modify",
                    "LogicalResourceId": "Fn",
                    "ResourceType": "AWS::Lambda::Function",
                    "Replacement": "False",
                },
            }
        ],
    }
    cfn.add_response("describe_change_set", change_set, {"ChangeSetName": CHANGE_SET_ID})
    cfn.add_response(
        "describe_change_set",
        change_set,
        {"ChangeSetName": CHANGE_SET_ID, "IncludePropertyValues": True},
    )


def stub_read(aws, status: str, tags: dict, stack_name: str = STACK) -> None:
    stack = {"Stacks": [described_stack(status, **tags)]}
    aws.cfn.add_response("describe_stacks", stack, {"StackName": stack_name})


def stub_events(aws, new: list) -> None:
    """DescribeStackEvents: `new` events over the earlier deployment's, newest first."""
    aws.cfn.add_response(
        "describe_stack_events", {"StackEvents": new + OLD_EVENTS}, {"StackName": STACK_ID}
    )


def test_the_first_read_after_execute_may_still_show_the_previous_update(aws, deployment):
    """ExecuteChangeSet only starts the update ("After the call successfully completes,
    CloudFormation starts updating the stack. Use the DescribeStacks action to view the status
    of the update": the CloudFormation API reference, ExecuteChangeSet), so the first
    DescribeStacks after it can still show the previous update's UPDATE_COMPLETE. The stack is
    followed until its own new event says the update ended: here it rolled back, and the deploy
    fails instead of reporting `deployed` with the old outputs."""
    old_tags = jiti_state(deployment, OLD_VERSION)
    stub_older_version_live(aws, old_tags)
    stub_change_set_made(aws, deployment)
    stub_read(aws, "UPDATE_COMPLETE", old_tags)  # right before executing
    aws.cfn.add_response("set_stack_policy", {}, {"StackName": STACK, "StackPolicyBody": ANY})
    stub_events(aws, [])  # the newest event before executing
    aws.cfn.add_response("execute_change_set", {}, {"ChangeSetName": CHANGE_SET_ID})
    stub_read(aws, "UPDATE_COMPLETE", old_tags, STACK_ID)  # the previous update's end
    stub_events(aws, [])
    stub_read(aws, "UPDATE_ROLLBACK_IN_PROGRESS", old_tags, STACK_ID)
    stub_events(aws, ROLLED_BACK_EVENTS[4:])
    stub_read(aws, "UPDATE_ROLLBACK_COMPLETE", old_tags, STACK_ID)
    stub_events(aws, ROLLED_BACK_EVENTS)
    with pytest.raises(DeployError, match="stack is UPDATE_ROLLBACK_COMPLETE"):
        runner.deploy(aws.target, deployment, log=lambda _: None)
    aws.assert_all_answered()
    assert not deployment.outputs_file.exists()


def test_a_change_set_the_stack_outgrew_is_replaced_by_a_fresh_read(aws, deployment):
    """Another deploy updated the stack between this one's change set and its execution: the
    change set is OBSOLETE ("OBSOLETE state because the stack was already updated": the
    CloudFormation API reference, ChangeSetSummary; recorded in localstack's
    `api/test_changesets.snapshot.json` `test_create_while_in_review`) and ExecuteChangeSet
    refuses it (`InvalidChangeSetStatus ... cannot be executed in its current status of [...]`,
    recorded in `test_empty_changeset`). The change set is deleted and the stack read again:
    the other deploy made it this version, so it is up to date."""
    old_tags, new_tags = jiti_state(deployment, OLD_VERSION), jiti_state(deployment, NEW_VERSION)
    stub_older_version_live(aws, old_tags)
    stub_change_set_made(aws, deployment)
    stub_read(aws, "UPDATE_COMPLETE", old_tags)  # right before executing
    aws.cfn.add_response("set_stack_policy", {}, {"StackName": STACK, "StackPolicyBody": ANY})
    stub_events(aws, [])
    aws.cfn.add_client_error(
        "execute_change_set",
        service_error_code="InvalidChangeSetStatus",
        service_message=f"ChangeSet [{CHANGE_SET_ID}] cannot be executed in its current status "
        "of [OBSOLETE]",
        http_status_code=400,
        expected_params={"ChangeSetName": CHANGE_SET_ID},
    )
    aws.cfn.add_response("delete_change_set", {}, {"ChangeSetName": CHANGE_SET_ID})
    stub_read(aws, "UPDATE_COMPLETE", new_tags)
    logged = []
    assert runner.deploy(aws.target, deployment, log=logged.append) is Result.UP_TO_DATE
    aws.assert_all_answered()
    assert (
        f"{STACK} changed after its change set was made: its change set is out of date; "
        "reading the stack again"
    ) in logged


def test_a_change_set_made_before_another_deploy_started_is_not_executed(aws, deployment):
    """Right before executing, another deploy is running on the stack: once it ends, this
    change set is OBSOLETE (ChangeSetSummary in the CloudFormation API reference), or gone if
    the other deploy executed a change set ("When you execute a change set, CloudFormation
    deletes all other change sets associated with the stack": ExecuteChangeSet; a deleted one is
    `ChangeSetNotFound`, localstack's `test_deleted_changeset`). It is not executed: it is
    dropped, the other deploy waited for, and the stack read again (here: this version)."""
    old_tags, new_tags = jiti_state(deployment, OLD_VERSION), jiti_state(deployment, NEW_VERSION)
    stub_older_version_live(aws, old_tags)
    stub_change_set_made(aws, deployment)
    stub_read(aws, "UPDATE_IN_PROGRESS", old_tags)  # right before executing
    aws.cfn.add_client_error(
        "delete_change_set",
        service_error_code="ChangeSetNotFound",
        service_message=f"ChangeSet [{CHANGE_SET_ID}] does not exist",
        http_status_code=404,
        expected_params={"ChangeSetName": CHANGE_SET_ID},
    )
    stub_read(aws, "UPDATE_IN_PROGRESS", old_tags)
    stub_read(aws, "UPDATE_COMPLETE", new_tags)
    logged = []
    assert runner.deploy(aws.target, deployment, log=logged.append) is Result.UP_TO_DATE
    aws.assert_all_answered()
    assert "cloudformation.ExecuteChangeSet" not in aws.calls
    assert (
        f"{STACK} is UPDATE_IN_PROGRESS: another deploy is running; waiting up to 15 minutes"
        in logged
    )


# --- a stack left in REVIEW_IN_PROGRESS -------------------------------------------------------


def stub_in_review(aws, deployment: Deployment, change_set: dict) -> None:
    """A stack made by a CREATE change set never executed: REVIEW_IN_PROGRESS and no tags
    (localstack's `api/test_changesets.snapshot.json` `test_name_conflicts`, `new_stack_desc`),
    its one change set listed, and described with the tags it was made with."""
    review = described_stack("REVIEW_IN_PROGRESS", tags={}, reason="User Initiated")
    aws.cfn.add_response("describe_stacks", {"Stacks": [review]}, {"StackName": STACK})
    stub_its_change_sets(aws, deployment, change_set)


def stub_its_change_sets(aws, deployment: Deployment, change_set: dict) -> None:
    summary = {"StackId": STACK_ID, "StackName": STACK, "ChangeSetId": CHANGE_SET_ID, **change_set}
    aws.cfn.add_response("list_change_sets", {"Summaries": [summary]}, {"StackName": STACK_ID})
    owned = {"jiti:deployment": deployment.address, "jiti:app": "demo", "jiti:env": "dev"}
    described = {**summary, "Tags": [{"Key": k, "Value": v} for k, v in owned.items()]}
    aws.cfn.add_response("describe_change_set", described, {"ChangeSetName": CHANGE_SET_ID})


def test_a_stack_left_by_a_failed_create_change_set_is_known_by_its_change_set(aws, deployment):
    """A CREATE change set CloudFormation failed (here a template error) leaves its stack in
    REVIEW_IN_PROGRESS, with no tags. Its owner is read from the change set's tags, and a
    FAILED change set can never run, so the stack is recreated at once (a dry run says so)."""
    failed = {
        "ChangeSetName": "jiti-1714557600000",
        "ExecutionStatus": "UNAVAILABLE",
        "Status": "FAILED",
        "StatusReason": "Template format error: Unresolved resource dependencies [Nope]",
        "CreationTime": datetime.now(timezone.utc),
    }
    stub_in_review(aws, deployment, failed)
    logged = []
    assert runner.deploy(aws.target, deployment, dry_run=True, log=logged.append) is (
        Result.DRY_RUN
    )
    assert logged[-1] == (
        f"{STACK} is REVIEW_IN_PROGRESS from an earlier failed create; a deploy would delete and "
        "recreate it"
    )
    aws.assert_all_answered()


def test_a_stack_whose_create_change_set_another_job_may_execute_is_not_deleted(aws, deployment):
    """The change set of a stack in review was made a minute ago and is AVAILABLE: the job that
    made it may be about to execute it (ChangeSetSummary in the CloudFormation API reference:
    Status, ExecutionStatus, CreationTime). Nothing is deleted; the run says why and when the
    change set counts as abandoned."""
    young = {
        "ChangeSetName": "jiti-1714557600000",
        "ExecutionStatus": "AVAILABLE",
        "Status": "CREATE_COMPLETE",
        "CreationTime": datetime.now(timezone.utc) - timedelta(minutes=1),
    }
    stub_in_review(aws, deployment, young)
    stub_in_review(aws, deployment, young)  # read again before deleting
    aws.cfn.add_response(
        "list_change_sets",
        {"Summaries": [{"StackId": STACK_ID, "ChangeSetId": CHANGE_SET_ID, **young}]},
        {"StackName": STACK_ID},
    )
    with pytest.raises(DeployError, match="another deploy may be about to create it") as refused:
        runner.deploy(aws.target, deployment, log=lambda _: None)
    assert "jiti-1714557600000 (made 1 min ago)" in str(refused.value)
    assert "cloudformation.DeleteStack" not in aws.calls
    aws.assert_all_answered()
