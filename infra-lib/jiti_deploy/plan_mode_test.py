"""Read-only plans against what only real AWS shows: DescribeType's registry schemas (JSON
text, create-only properties as JSON pointers) and the replacements CloudFormation can only
call `Conditional`, answered by botocore Stubbers; every call is recorded, so a test also
proves that nothing but reads was made.

Sources: the DescribeType API reference (`Schema`: "The schema that defines the extension",
a string) and localstack's recorded `api/test_extensions_api.snapshot.json`
`TestExtensionsApi::test_crud_extension` (`describe_response`: `createOnlyProperties`
`["/properties/Name"]`) and `::test_extension_not_complete` (`TypeNotFoundException`);
`test_change_set_fn_select.snapshot.json` `test_fn_select_change_get_att_reference`
(`describe-change-set-2`: a property built from a modified resource's attribute is modified
too, `ChangeSource: ResourceAttribute`, `Evaluation: Dynamic`); the ResourceChangeDetail API
reference (a change CloudFormation only evaluates while it updates is `Dynamic`, and its
`RequiresRecreation` `Conditionally`); CreateChangeSet `Tags` (propagated to the resources that
support them)."""

from __future__ import annotations

import json

import pytest

from jiti_contract import Input, StackPlace, deployment_tag
from jiti_deploy import plan_mode, record, settings
from jiti_deploy.runner_test import ACCOUNT, REGION, T0, StubbedAws
from jiti_deploy.schemas import parse
from jiti_deploy.testutil import quiet

OLD = {
    "Resources": {
        "Data": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "shop-data-1"}},
        "DataPolicy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {"Bucket": {"Ref": "Data"}, "PolicyDocument": {"Statement": []}},
        },
        "Jobs": {
            "Type": "AWS::SQS::Queue",
            "Properties": {"QueueName": "{{resolve:ssm:/shop/queue}}"},
        },
        "Reader": {
            "Type": "AWS::SNS::Topic",
            "Properties": {"DisplayName": {"Fn::GetAtt": ["Data", "DomainName"]}},
        },
        "Thing": {"Type": "Custom::Thing", "Properties": {"ServiceToken": "arn:x", "Size": 1}},
        "Widget": {"Type": "Acme::Shop::Widget", "Properties": {"Colour": "red"}},
    }
}
# The bucket's name changes (create-only), the queue's name is a new dynamic reference, the
# custom resource and the third-party type change.
NEW = json.loads(json.dumps(OLD))
NEW["Resources"]["Data"]["Properties"]["BucketName"] = "shop-data-2"
NEW["Resources"]["Jobs"]["Properties"]["QueueName"] = "{{resolve:ssm:/shop/queue-2}}"
NEW["Resources"]["Thing"]["Properties"]["Size"] = 2
NEW["Resources"]["Widget"]["Properties"]["Colour"] = "blue"

SCHEMAS = {  # what the registry says, abridged to the keys a plan reads
    "AWS::S3::Bucket": {
        "createOnlyProperties": ["/properties/BucketName", "/properties/ObjectLockEnabled"],
        "tagging": {"taggable": True, "tagProperty": "/properties/Tags"},
        "properties": {"BucketName": {"type": "string"}, "Tags": {"type": "array"}},
    },
    "AWS::S3::BucketPolicy": {
        "createOnlyProperties": ["/properties/Bucket"],
        "tagging": {"taggable": False},
        "properties": {"Bucket": {"type": "string"}, "PolicyDocument": {"type": "object"}},
    },
    "AWS::SQS::Queue": {
        "createOnlyProperties": ["/properties/FifoQueue", "/properties/QueueName"],
        "properties": {"QueueName": {"type": "string"}, "Tags": {"type": "array"}},
    },
    "AWS::SNS::Topic": {
        "createOnlyProperties": ["/properties/TopicName", "/properties/FifoTopic"],
        "tagging": {"taggable": True},
        "properties": {"DisplayName": {"type": "string"}},
    },
}


IDENTITY = {
    "Account": ACCOUNT,
    "Arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/jiti-plan/ci",
    "UserId": "AROAEXAMPLEID:ci",
}


class OneDestination:
    """Destinations that are all the stubbed one (one account and region)."""

    def __init__(self, aws: StubbedAws):
        self.aws = aws

    def get(self, account, region, role):
        return self.aws.target


@pytest.fixture
def aws(monkeypatch):
    stubbed = StubbedAws(monkeypatch)
    yield stubbed
    stubbed.close()


def stack(name: str, address: str, *, tags: dict, version: str) -> dict:
    return {
        "StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{name}/1b2c3d4e",
        "StackName": name,
        "CreationTime": T0,
        "LastUpdatedTime": T0,
        "StackStatus": "UPDATE_COMPLETE",
        "Parameters": [],
        "Tags": [
            {"Key": "jiti:deployment", "Value": deployment_tag(address)},
            *({"Key": k, "Value": v} for k, v in tags.items()),
        ],
        "Outputs": [{"OutputKey": "JitiVersion", "OutputValue": version}],
    }


def answer_reads(aws: StubbedAws, live: dict, template: dict, types: list[str]) -> None:
    aws.cfn.add_response("describe_stacks", {"Stacks": [live]}, {})
    aws.stubs["sts"].add_response("get_caller_identity", IDENTITY)
    aws.cfn.add_response(
        "get_template",
        {"TemplateBody": json.dumps(template), "StagesAvailable": ["Original", "Processed"]},
        {"StackName": live["StackId"], "TemplateStage": "Original"},
    )
    for kind in types:
        if kind in SCHEMAS:
            schema = json.dumps({"typeName": kind, **SCHEMAS[kind]})
            found = {"Type": "RESOURCE", "TypeName": kind, "Schema": schema}
            aws.cfn.add_response("describe_type", found, {"Type": "RESOURCE", "TypeName": kind})
        else:
            aws.cfn.add_client_error(
                "describe_type",
                "TypeNotFoundException",
                f"The type '{kind}' cannot be found.",
                404,
                expected_params={"Type": "RESOURCE", "TypeName": kind},
            )


def test_replacements_are_sure_only_where_the_registry_and_the_values_say_so(aws, make):
    deployment = make("shop", NEW, tags={"team": "b"})
    live = stack("shop-dev", deployment.address, tags={"team": "a"}, version="0" * 64)
    order = ["AWS::S3::Bucket", "AWS::S3::BucketPolicy", "AWS::SQS::Queue", "AWS::SNS::Topic"]
    answer_reads(aws, live, OLD, [*order, "Acme::Shop::Widget"])

    (entry,) = plan_mode.run(OneDestination(aws), [deployment], log=quiet)

    assert entry["error"] is None and entry["status"] == "changes"
    found = {
        c["logical_id"]: (
            c["replacement"],
            c["scope"],
            [(d["property"], d["replacement"], d["change_source"]) for d in c["details"]],
        )
        for c in entry["changes"]
    }
    assert found == {
        "Data": (
            "True",
            ["Properties", "Tags"],
            [
                ("BucketName", "Always", "DirectModification"),
                ("Tags", "Never", "DirectModification"),
            ],
        ),
        "DataPolicy": (
            "Conditional",
            ["Properties"],
            [("Bucket", "Conditional", "ResourceReference")],
        ),
        "Jobs": (
            "Conditional",
            ["Properties", "Tags"],
            [
                ("QueueName", "Conditional", "DirectModification"),
                ("Tags", "Never", "DirectModification"),
            ],
        ),
        "Reader": (
            "False",
            ["Properties", "Tags"],
            [
                ("DisplayName", "Never", "ResourceAttribute"),
                ("Tags", "Never", "DirectModification"),
            ],
        ),
        "Thing": ("Conditional", ["Properties"], [("Size", "Conditional", "DirectModification")]),
        "Widget": (
            "Conditional",
            ["Properties"],
            [("Colour", "Conditional", "DirectModification")],
        ),
    }
    aws.assert_all_answered()
    assert set(aws.calls) == {
        "cloudformation.DescribeStacks",
        "cloudformation.GetTemplate",
        "cloudformation.DescribeType",
        "sts.GetCallerIdentity",
    }
    assert aws.calls.count("cloudformation.DescribeType") == 5  # once per type in the run


def test_a_stack_at_the_planned_version_and_settings_costs_one_read(aws, make):
    deployment = make("calm", OLD)
    live = stack("calm-dev", deployment.address, tags={}, version=deployment.version)
    live["Tags"] = [{"Key": k, "Value": v} for k, v in settings.tags(deployment).items()]
    live["Outputs"] = [
        {"OutputKey": k, "OutputValue": v} for k, v in record.values(deployment).items()
    ]
    aws.cfn.add_response("describe_stacks", {"Stacks": [live]}, {})
    aws.stubs["sts"].add_response("get_caller_identity", IDENTITY)
    (entry,) = plan_mode.run(OneDestination(aws), [deployment], log=quiet)
    assert (entry["status"], entry["changes"]) == ("unchanged", [])
    assert entry["live"]["last_updated"] == T0.isoformat()
    assert "cloudformation.GetTemplate" not in aws.calls


def test_the_schema_is_json_text_with_json_pointers():
    text = json.dumps(
        {
            "createOnlyProperties": [
                "/properties/TableName",
                "/properties/KeySchema/0/AttributeName",
            ],
            "properties": {"TableName": {}, "Tags": {}},
        }
    )
    schema = parse("AWS::DynamoDB::Table", text)
    assert schema.create_only_paths("TableName") == [()]
    assert schema.create_only_paths("KeySchema") == [("0", "AttributeName")]
    assert schema.taggable  # no `tagging`: a `Tags` property says it


def test_the_plan_role_replaces_each_deployment_s_role_in_its_account_and_region(make):
    producer = StackPlace(
        "apps/base:deploy",
        "base-dev",
        account="222222222222",
        region="us-west-2",
        assume_role="arn:aws:iam::{account}:role/deploy",
    )
    deployment = make(
        "roles",
        OLD,
        account="111111111111",
        region="eu-west-2",
        assume_role="arn:aws:iam::{account}:role/deploy",
        inputs=(Input("Url", producer=producer, output="Url"),),
    )
    planned = plan_mode.with_role(deployment, "arn:aws:iam::{account}:role/jiti-plan-{region}")
    assert planned.role_to_assume == "arn:aws:iam::111111111111:role/jiti-plan-eu-west-2"
    (item,) = planned.plan.inputs
    assert item.producer.role_to_assume == "arn:aws:iam::222222222222:role/jiti-plan-us-west-2"
