"""The local AWS's property-level change-set details (fidelity fix 11) for a property built from
a parameter: the "before" is the value the live stack has, the "after" the change set's."""

from __future__ import annotations

import json

import boto3

from jiti_deploy import local_aws


def _template(visibility: int) -> dict:
    tags = [{"Key": "colour", "Value": {"Ref": "Colour"}}]
    return {
        "Parameters": {"Colour": {"Type": "String"}},
        "Resources": {
            "Q": {
                "Type": "AWS::SQS::Queue",
                "Properties": {"VisibilityTimeout": visibility, "Tags": tags},
            }
        },
    }


def _change_set(cfn, kind: str, colour: str, visibility: int) -> str:
    return cfn.create_change_set(
        StackName="change-sets-before",
        ChangeSetName=f"c-{kind.lower()}",
        ChangeSetType=kind,
        TemplateBody=json.dumps(_template(visibility)),
        Parameters=[{"ParameterKey": "Colour", "ParameterValue": colour}],
    )["Id"]


def test_the_before_of_a_parameter_reference_is_the_live_value(endpoint):
    cfn = boto3.client(
        "cloudformation", region_name="us-east-1", endpoint_url=endpoint, **local_aws.CREDENTIALS
    )
    cfn.execute_change_set(ChangeSetName=_change_set(cfn, "CREATE", "red", 30))
    described = cfn.describe_change_set(
        ChangeSetName=_change_set(cfn, "UPDATE", "blue", 60), IncludePropertyValues=True
    )
    (change,) = described["Changes"]
    (detail,) = [
        d
        for d in change["ResourceChange"]["Details"]
        if (d["Target"]["Attribute"], d["Target"].get("Name")) == ("Properties", "Tags")
    ]
    assert detail["ChangeSource"] == "ParameterReference"
    target = detail["Target"]
    assert (json.loads(target["BeforeValue"]), json.loads(target["AfterValue"])) == (
        [{"Key": "colour", "Value": "red"}],
        [{"Key": "colour", "Value": "blue"}],
    )
