import json

import pytest

from jiti_infra.constructs.functions import lambda_function
from jiti_infra.constructs.http_api import http_api
from jiti_infra.testing import lint_errors, resources_of_type, synthesize


def build(app):
    a = lambda_function(app, "Hello", asset=app.asset(":lambda"))
    b = lambda_function(app, "Orders", asset=app.asset(":lambda"))
    http_api(app, "Api", routes={"GET /hello": a, "POST /orders": b, "GET /orders/{id}": b})
    return app.template


def test_routes_resources_methods_and_permissions():
    t = synthesize(build, assets=("apps/app:lambda",))
    assert lint_errors(t) == []
    paths = {
        r["Properties"]["PathPart"]
        for r in resources_of_type(t, "AWS::ApiGateway::Resource").values()
    }
    assert paths == {"hello", "orders", "{id}"}
    methods = resources_of_type(t, "AWS::ApiGateway::Method")
    assert sorted(m["Properties"]["HttpMethod"] for m in methods.values()) == [
        "GET",
        "GET",
        "POST",
    ]
    # One invoke permission per function, and the deployment waits for every method.
    assert len(resources_of_type(t, "AWS::Lambda::Permission")) == 2
    deployment = t["Resources"]["ApiDeployment"]
    assert sorted(deployment["DependsOn"]) == sorted(methods)
    assert t["Outputs"]["ApiUrl"]["Export"]["Name"] == {"Fn::Sub": "app-${Environment}-ApiUrl"}
    # Routes are public by design, and each says so to the policy checker.
    for method in methods.values():
        assert method["Properties"]["AuthorizationType"] == "NONE"
        (skip,) = method["Metadata"]["checkov"]["skip"]
        assert skip["id"] == "CKV_AWS_59" and "public by design" in skip["comment"]


def test_bad_route_is_rejected():
    def bad(app):
        fn = lambda_function(app, "Hello", asset=app.asset(":lambda"))
        http_api(app, "Api", routes={"hello": fn})
        return app.template

    with pytest.raises(ValueError, match="must look like 'GET /path'"):
        synthesize(bad, assets=("apps/app:lambda",))


def test_the_stage_keeps_access_logs_and_throttles_by_default():
    t = synthesize(build, assets=("apps/app:lambda",))
    stage = t["Resources"]["ApiDeployment"]["Properties"]["StageDescription"]
    assert (stage["ThrottlingRateLimit"], stage["ThrottlingBurstLimit"]) == (100, 200)
    assert stage["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogs", "Arn"]}
    fields = json.loads(stage["AccessLogSetting"]["Format"])
    assert fields["requestId"] == "$context.requestId" and fields["status"] == "$context.status"
    logs = t["Resources"]["ApiAccessLogs"]["Properties"]
    assert logs["RetentionInDays"] == {"Ref": "LogRetentionDays"}  # the app's one retention


def test_throttling_is_set_per_api():
    def build_slow(app):
        fn = lambda_function(app, "Hello", asset=app.asset(":lambda"))
        http_api(app, "Api", routes={"GET /hello": fn}, rate_limit=5, burst_limit=10)
        return app.template

    t = synthesize(build_slow, assets=("apps/app:lambda",))
    stage = t["Resources"]["ApiDeployment"]["Properties"]["StageDescription"]
    assert (stage["ThrottlingRateLimit"], stage["ThrottlingBurstLimit"]) == (5, 10)
    assert lint_errors(t) == []
