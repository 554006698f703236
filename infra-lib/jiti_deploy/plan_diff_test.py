"""Which live outputs a plan can still trust before the update runs.

Source: CloudFormation User Guide, "Update behaviors of stack resources": an update with no or
some interruption keeps the resource's physical ID; a replacement generates a new one. A `Ref`
to most resources is their physical ID, and an ARN is built from it; other attributes (a
table's `StreamArn`, say) may change with an update."""

from __future__ import annotations

import pytest

from jiti_deploy import plan_diff
from jiti_deploy.schemas import TypeSchema

LIVE = {"Out": "live-value"}


def kept(value, change: dict | None = None, old_params=None, new_params=None) -> bool:
    template = {
        "Parameters": {"Size": {"Type": "String"}},
        "Resources": {"T": {"Type": "AWS::DynamoDB::Table"}},
        "Outputs": {"Out": {"Value": value}},
    }
    stacks = plan_diff.Stacks(
        template, template, old_params or {"Size": "1"}, new_params or {"Size": "1"}
    )
    changes = [{"logical_id": "T", **change}] if change else []
    return plan_diff.kept_outputs(stacks, changes, LIVE) == LIVE


MODIFIED = {"action": "Modify", "replacement": "False"}


@pytest.mark.parametrize(
    "value, change, expected",
    [
        ({"Ref": "T"}, None, True),
        ({"Ref": "T"}, MODIFIED, True),
        ({"Fn::GetAtt": ["T", "Arn"]}, MODIFIED, True),
        ({"Fn::Sub": "${T.Arn}/index/${AWS::Region}"}, MODIFIED, True),
        ({"Fn::GetAtt": ["T", "StreamArn"]}, MODIFIED, False),
        ({"Fn::GetAtt": ["T", "StreamArn"]}, None, True),
        ({"Ref": "T"}, {"action": "Modify", "replacement": "True"}, False),
        ({"Ref": "T"}, {"action": "Modify", "replacement": "Conditional"}, False),
        ({"Ref": "Size"}, None, True),
    ],
)
def test_an_output_stays_while_what_it_names_keeps_its_physical_id(value, change, expected):
    assert kept(value, change) is expected


def test_an_output_of_a_changed_parameter_or_expression_is_not_kept():
    assert not kept({"Fn::Sub": "${T}-${Size}"}, None, {"Size": "1"}, {"Size": "2"})
    stacks = plan_diff.Stacks(
        {"Outputs": {"Out": {"Value": {"Ref": "A"}}}},
        {"Outputs": {"Out": {"Value": {"Ref": "B"}}}},
        {},
        {},
    )
    assert plan_diff.kept_outputs(stacks, [], LIVE) == {}


def function_and_api(code_key: str, method_uri) -> dict:
    return {
        "Resources": {
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"Code": {"S3Bucket": "assets", "S3Key": code_key}},
            },
            "Method": {
                "Type": "AWS::ApiGateway::Method",
                "Properties": {"Integration": {"Uri": method_uri}},
            },
        }
    }


@pytest.mark.parametrize(
    "uri, method_changes",
    [
        ({"Fn::Sub": "arn:aws:apigateway:${AWS::Region}:lambda:path/${Fn.Arn}/invocations"}, False),
        ({"Fn::GetAtt": ["Fn", "Arn"]}, False),
        ({"Ref": "Fn"}, False),
        ({"Fn::GetAtt": ["Fn", "Version"]}, True),
    ],
)
def test_a_function_s_new_code_leaves_what_reads_its_arn_unchanged(uri, method_changes):
    """New code modifies the function without replacement: its name and ARN stay, so an API
    built from them does not change (a change set lists it as `Dynamic`; it is not updated)."""
    old, new = function_and_api("code-1.zip", uri), function_and_api("code-2.zip", uri)
    schema = TypeSchema("any", (("FunctionName",),))
    found = plan_diff.compute(
        plan_diff.Stacks(old, new, {}, {}), lambda kind: schema, tags_changed=False
    )
    assert [c["logical_id"] for c in found] == ["Fn", "Method"] if method_changes else ["Fn"]
    assert found[0]["replacement"] == "False"
