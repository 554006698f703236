from jiti_infra.constructs.functions import lambda_function
from jiti_infra.constructs.schedules import schedule
from jiti_infra.testing import lint_errors, resources_of_type, synthesize


def build(app):
    fn = lambda_function(app, "Report", asset=app.asset(":lambda"))
    schedule(app, "Daily", fn, expression="rate(1 day)")
    return app.template


def test_a_rule_runs_the_function_and_only_that_rule_may_invoke_it():
    t = synthesize(build, name="reports", assets=("apps/app:lambda",))
    assert lint_errors(t) == []
    rule = t["Resources"]["Daily"]["Properties"]
    assert rule["ScheduleExpression"] == "rate(1 day)" and rule["State"] == "ENABLED"
    assert rule["Name"] == {"Fn::Sub": "reports-${Environment}-Daily"}
    assert rule["Targets"] == [{"Id": "Report", "Arn": {"Fn::GetAtt": ["Report", "Arn"]}}]
    (permission,) = resources_of_type(t, "AWS::Lambda::Permission").values()
    assert permission["Properties"] == {
        "Action": "lambda:InvokeFunction",
        "FunctionName": {"Ref": "Report"},
        "Principal": "events.amazonaws.com",
        "SourceArn": {"Fn::GetAtt": ["Daily", "Arn"]},
    }
