import json

from apps.reports.infra import template
from jiti_infra.testing import lint_errors, resources_of_type, synthesize


def synth() -> dict:
    return synthesize(
        template, name="reports", address="apps/reports:stack", assets=("apps/reports:lambda",)
    )


def test_a_schedule_runs_the_report_function():
    t = synth()
    assert lint_errors(t) == []
    (rule,) = resources_of_type(t, "AWS::Events::Rule").values()
    assert rule["Properties"]["ScheduleExpression"] == {"Ref": "ReportSchedule"}
    assert rule["Properties"]["Targets"][0]["Arn"] == {"Fn::GetAtt": ["Report", "Arn"]}
    (permission,) = resources_of_type(t, "AWS::Lambda::Permission").values()
    assert permission["Properties"]["Principal"] == "events.amazonaws.com"


def test_the_orders_table_comes_from_inputs_and_is_only_read():
    t = synth()
    assert "Fn::ImportValue" not in json.dumps(t)  # parameters, never another stack's exports
    for name in ("OrdersTableArn", "OrdersTableName"):
        assert t["Parameters"][name]["Type"] == "String" and "Default" not in t["Parameters"][name]
    statements = t["Resources"]["ReportRole"]["Properties"]["Policies"][0]["PolicyDocument"][
        "Statement"
    ]
    table_access = [s for s in statements if any(a.startswith("dynamodb:") for a in s["Action"])]
    assert table_access == [
        {
            "Effect": "Allow",
            "Action": ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"],
            "Resource": [{"Ref": "OrdersTableArn"}],
        }
    ]
    variables = t["Resources"]["Report"]["Properties"]["Environment"]["Variables"]
    assert variables["ORDERS_TABLE"] == {"Ref": "OrdersTableName"}
