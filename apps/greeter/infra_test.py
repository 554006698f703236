from apps.greeter.infra import template
from jiti_infra.testing import resources_of_type, synthesize


def test_template_routes_to_the_handler():
    t = synthesize(
        template,
        name="greeter",
        address="apps/greeter:stack",
        assets=("apps/greeter:lambda",),
    )
    assert list(resources_of_type(t, "AWS::Lambda::Function")) == ["Handler"]
    (method,) = resources_of_type(t, "AWS::ApiGateway::Method").values()
    assert method["Properties"]["HttpMethod"] == "GET"
    assert "ApiUrl" in t["Outputs"]
