"""Conditions decided from parameter values, as CloudFormation decides them. Sources: the
CloudFormation User Guide, "Conditions syntax" (a resource with a false `Condition` is not
created; "Condition functions": `Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`, `Condition`,
`Fn::If`) and "Pseudo parameters reference" (`AWS::NoValue` "removes the corresponding resource
property when specified as a return value in the Fn::If intrinsic function")."""

from __future__ import annotations

from jiti_deploy import plan_conditions, plan_diff
from jiti_deploy.schemas import TypeSchema

TEMPLATE = {
    "Conditions": {
        "IsProd": {"Fn::Equals": [{"Ref": "Environment"}, "prod"]},
        "IsDev": {"Fn::Not": [{"Condition": "IsProd"}]},
        "ProdInIreland": {
            "Fn::And": [
                {"Condition": "IsProd"},
                {"Fn::Equals": [{"Ref": "AWS::Region"}, "eu-west-1"]},
            ]
        },
        "Secret": {"Fn::Equals": [{"Ref": "Token"}, ""]},
        "DevOrSecret": {"Fn::Or": [{"Condition": "IsDev"}, {"Condition": "Secret"}]},
        "Loop": {"Condition": "Loop"},
    }
}


def test_conditions_are_decided_where_the_values_are_known():
    found = plan_conditions.evaluate(TEMPLATE, {"Environment": "dev", "AWS::Region": "us-east-1"})
    assert found == {
        "IsProd": False,
        "IsDev": True,
        "ProdInIreland": False,  # false whatever else: one false part
        "Secret": None,  # the token is not known (NoEcho)
        "DevOrSecret": True,  # true whatever else: one true part
        "Loop": None,
    }


def test_if_takes_its_branch_and_no_value_leaves_the_property_out():
    conditions = {"IsProd": False, "Unknown": None}
    value = {
        "MemorySize": {"Fn::If": ["IsProd", 1024, 128]},
        "ReservedConcurrentExecutions": {"Fn::If": ["IsProd", 10, {"Ref": "AWS::NoValue"}]},
        "Timeout": {"Fn::If": ["Unknown", 3, 30]},
        "Layers": ["a", {"Fn::If": ["IsProd", "b", {"Ref": "AWS::NoValue"}]}],
    }
    assert plan_conditions.chosen(value, conditions) == {
        "MemorySize": 128,
        "Timeout": {"Fn::If": ["Unknown", 3, 30]},
        "Layers": ["a"],
    }


def stack(environment: str) -> dict:
    return {
        "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Environment"}, "prod"]}},
        "Resources": {
            "Alarm": {"Type": "AWS::CloudWatch::Alarm", "Condition": "IsProd"},
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"MemorySize": {"Fn::If": ["IsProd", 1024, 128]}},
            },
        },
    }


def changes(old: dict, new: dict, old_env: str, new_env: str, unknown=()) -> list[tuple]:
    stacks = plan_diff.Stacks(old, new, {"Environment": old_env}, {"Environment": new_env}, unknown)
    found = plan_diff.compute(stacks, lambda kind: TypeSchema(kind), tags_changed=False)
    return [(c["logical_id"], c["action"]) for c in found]


def test_a_resource_whose_condition_is_false_is_not_planned():
    assert changes({}, stack("dev"), "dev", "dev") == [("Fn", "Add")]
    assert changes(stack("dev"), stack("dev"), "dev", "dev") == []
    assert changes(stack("dev"), stack("prod"), "dev", "prod") == [
        ("Alarm", "Add"),
        ("Fn", "Modify"),
    ]
    assert changes(stack("prod"), stack("dev"), "prod", "dev") == [
        ("Alarm", "Remove"),
        ("Fn", "Modify"),
    ]


def test_a_condition_on_an_unknown_value_keeps_the_resource_planned():
    stacks = plan_diff.Stacks({}, stack("dev"), {}, {}, {"Environment"})
    found = plan_diff.compute(stacks, lambda kind: TypeSchema(kind), tags_changed=False)
    assert [(c["logical_id"], c["action"]) for c in found] == [("Alarm", "Add"), ("Fn", "Add")]
