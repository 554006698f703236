"""Fix 22 of `fidelity`: a stack's tags reach its resources, so a change set that changes only
the stack's tags lists every taggable resource as modified in its tags, as CloudFormation's does
(CreateChangeSet `Tags`: "AWS CloudFormation also propagates these tags to supported resources
in the stack"; ResourceChange `Scope` and ResourceTargetDefinition `Attribute`: `Tags`)."""

from __future__ import annotations

import json

import boto3

from jiti_deploy import local_aws
from jiti_deploy.local_aws.fidelity_test import NO_RETRIES, REGION, execute, unpatched
from jiti_deploy.local_aws.tags import taggable

# A queue (taggable) and a wait condition handle (not taggable, says the registry schema).
QUEUE_AND_HANDLE = {
    "Resources": {
        "Q": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 30}},
        "H": {"Type": "AWS::CloudFormation::WaitConditionHandle"},
    }
}


def client(endpoint: str, service: str):
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=endpoint,
        config=NO_RETRIES,
        **local_aws.CREDENTIALS,
    )


def change_set(cfn, stack: str, template: dict, tags: dict) -> dict:
    created = cfn.create_change_set(
        StackName=stack,
        ChangeSetName="tags",
        ChangeSetType="UPDATE",
        TemplateBody=json.dumps(template),
        Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
    )
    return cfn.describe_change_set(ChangeSetName=created["Id"])


def queue_tags(endpoint: str, stack: str) -> dict:
    cfn, sqs = client(endpoint, "cloudformation"), client(endpoint, "sqs")
    url = cfn.describe_stack_resource(StackName=stack, LogicalResourceId="Q")
    return sqs.list_queue_tags(QueueUrl=url["StackResourceDetail"]["PhysicalResourceId"]).get(
        "Tags", {}
    )


def test_a_change_set_that_changes_only_stack_tags_modifies_each_taggable_resource(endpoint):
    cfn = client(endpoint, "cloudformation")
    execute(cfn, "tags-only", QUEUE_AND_HANDLE, "CREATE", tags={"team": "a", "old": "x"})
    assert queue_tags(endpoint, "tags-only") == {"team": "a", "old": "x"}

    described = change_set(cfn, "tags-only", QUEUE_AND_HANDLE, {"team": "b"})
    assert described["Status"] == "CREATE_COMPLETE"
    (change,) = [c["ResourceChange"] for c in described["Changes"]]
    assert (change["Action"], change["LogicalResourceId"]) == ("Modify", "Q")
    assert (change["Replacement"], change["Scope"]) == ("False", ["Tags"])
    assert change["Details"] == [
        {
            "Target": {"Attribute": "Tags", "RequiresRecreation": "Never"},
            "Evaluation": "Static",
            "ChangeSource": "DirectModification",
        }
    ]
    cfn.execute_change_set(ChangeSetName=described["ChangeSetId"])
    assert queue_tags(endpoint, "tags-only") == {"team": "b"}  # "old" went with the stack's


def test_the_same_tags_modify_nothing_for_tags(endpoint):
    """Only what really changes is listed: the queue's attribute, no tag modification."""
    cfn = client(endpoint, "cloudformation")
    execute(cfn, "tags-same", QUEUE_AND_HANDLE, "CREATE", tags={"team": "a"})
    changed = json.loads(json.dumps(QUEUE_AND_HANDLE))
    changed["Resources"]["Q"]["Properties"]["VisibilityTimeout"] = 45
    described = change_set(cfn, "tags-same", changed, {"team": "a"})
    (change,) = [c["ResourceChange"] for c in described["Changes"]]
    assert (change["LogicalResourceId"], change["Scope"]) == ("Q", ["Properties"])


def test_update_stack_with_new_tags_is_an_update(endpoint):
    cfn = client(endpoint, "cloudformation")
    cfn.create_stack(
        StackName="tags-update",
        TemplateBody=json.dumps(QUEUE_AND_HANDLE),
        Tags=[{"Key": "team", "Value": "a"}],
    )
    cfn.update_stack(
        StackName="tags-update",
        TemplateBody=json.dumps(QUEUE_AND_HANDLE),
        Tags=[{"Key": "team", "Value": "b"}],
    )
    assert queue_tags(endpoint, "tags-update") == {"team": "b"}


def test_the_taggable_types_are_the_registry_schemas():
    assert taggable("AWS::SQS::Queue") and taggable("AWS::Lambda::Function")
    assert not taggable("AWS::SQS::QueuePolicy") and not taggable("AWS::Lambda::Permission")
    assert not taggable("Custom::Anything")


def test_moto_still_finds_no_change_in_a_stack_tag_change():
    """Gap 16: moto lists no resource for a change of the stack's tags (its change set "didn't
    contain changes"), and puts no stack tag on a resource."""
    result = unpatched(
        """
        execute("s", templates["queue"], "CREATE", tags={"team": "a"})
        url = cfn.describe_stack_resource(StackName="s", LogicalResourceId="Q")[
            "StackResourceDetail"]["PhysicalResourceId"]
        result["queue_tags"] = boto3.client("sqs", region_name="us-east-1").list_queue_tags(
            QueueUrl=url).get("Tags", {})
        created = cfn.create_change_set(
            StackName="s", ChangeSetName="t", ChangeSetType="UPDATE",
            TemplateBody=json.dumps(templates["queue"]), Tags=[{"Key": "team", "Value": "b"}])
        described = cfn.describe_change_set(ChangeSetName=created["Id"])
        result["status"] = described["Status"]
        result["changes"] = described["Changes"]
        """,
        queue=QUEUE_AND_HANDLE,
    )
    assert result == {"queue_tags": {}, "status": "FAILED", "changes": []}


def test_a_template_s_own_tags_are_a_property(endpoint):
    """A resource's `Tags` in the template changes as a property (`Scope: ["Properties"]`,
    `Name: Tags`), as recorded in localstack's `api/test_stacks.snapshot.json`
    `test_no_echo_parameter` (`describe_updated_change_set`); attribute `Tags` is the stack's."""
    cfn = client(endpoint, "cloudformation")
    execute(cfn, "tags-own", QUEUE_AND_HANDLE, "CREATE", tags={"team": "a"})
    changed = json.loads(json.dumps(QUEUE_AND_HANDLE))
    changed["Resources"]["Q"]["Properties"]["Tags"] = [{"Key": "tier", "Value": "1"}]
    (change,) = [
        c["ResourceChange"] for c in change_set(cfn, "tags-own", changed, {"team": "a"})["Changes"]
    ]
    assert change["Scope"] == ["Properties"]
    assert [d["Target"].get("Name") for d in change["Details"]] == ["Tags"]
