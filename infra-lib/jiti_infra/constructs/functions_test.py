from jiti_infra.constructs.functions import PANTS_LAMBDA_HANDLER, lambda_function
from jiti_infra.testing import lint_errors, resources_of_type, synthesize


def build(app):
    fn = lambda_function(
        app,
        "Handler",
        asset=app.asset(":lambda"),
        memory=512,
        environment={"MODE": "fast"},
    )
    fn.allow(["s3:GetObject"], ["arn:aws:s3:::some-bucket/*"])
    return app.template


def test_function_from_asset_with_logs_and_role():
    t = synthesize(
        build,
        name="greeter",
        address="apps/greeter:stack",
        assets=("apps/greeter:lambda",),
    )
    assert lint_errors(t) == []
    fn = t["Resources"]["Handler"]
    props = fn["Properties"]
    version = f"JitiAssetVersion{0:016x}"
    assert props["Code"] == {
        "S3Bucket": {"Ref": "AssetsBucket"},
        "S3Key": f"assets/{0:064x}.zip",
        # The version the deploy checked holds the asset's bytes; the newest where none is given.
        "S3ObjectVersion": {"Fn::If": [f"{version}Set", {"Ref": version}, {"Ref": "AWS::NoValue"}]},
    }
    assert t["Parameters"][version]["Default"] == ""
    assert t["Conditions"][f"{version}Set"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": version}, ""]}]}
    assert props["Handler"] == PANTS_LAMBDA_HANDLER
    assert props["MemorySize"] == 512
    assert props["FunctionName"] == {"Fn::Sub": "greeter-${Environment}-Handler"}
    assert props["Environment"]["Variables"] == {
        "JITI_APP": "greeter",
        "JITI_ENV": {"Ref": "Environment"},
        "MODE": "fast",
    }
    assert fn["DependsOn"] == ["HandlerLogs"]
    # The log group is the function's own, with retention from a parameter.
    logs = t["Resources"]["HandlerLogs"]["Properties"]
    assert logs["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert t["Parameters"]["LogRetentionDays"]["Default"] == 14
    # Least privilege: only its log group and what was granted, never "*".
    statements = t["Resources"]["HandlerRole"]["Properties"]["Policies"][0]["PolicyDocument"][
        "Statement"
    ]
    assert [s["Resource"] for s in statements] == [
        [{"Fn::GetAtt": ["HandlerLogs", "Arn"]}],
        ["arn:aws:s3:::some-bucket/*"],
    ]
    assert "ManagedPolicyArns" not in t["Resources"]["HandlerRole"]["Properties"]


def test_every_taggable_resource_carries_app_tags():
    t = synthesize(build, name="greeter", assets=("apps/app:lambda",))
    for logical_id in ("Handler", "HandlerRole", "HandlerLogs"):
        tags = t["Resources"][logical_id]["Properties"]["Tags"]
        assert {"Key": "jiti:app", "Value": "greeter"} in tags, logical_id
        assert {"Key": "jiti:env", "Value": {"Ref": "Environment"}} in tags, logical_id


def test_two_functions_share_one_retention_parameter():
    def two(app):
        asset = app.asset(":lambda")
        lambda_function(app, "A", asset=asset)
        lambda_function(app, "B", asset=asset)
        return app.template

    t = synthesize(two, assets=("apps/app:lambda",))
    assert len(resources_of_type(t, "AWS::Lambda::Function")) == 2
    assert list(t["Parameters"]).count("LogRetentionDays") == 1
    assert lint_errors(t) == []


def test_an_app_s_permissions_boundary_bounds_every_role_its_blocks_make():
    boundary = "arn:aws:iam::123456789012:policy/app-boundary"

    def bounded(app):
        app.permissions_boundary = boundary
        lambda_function(app, "One", asset=app.asset(":lambda"))
        lambda_function(app, "Two", asset=app.asset(":lambda"))
        return app.template

    t = synthesize(bounded, assets=("apps/app:lambda",))
    roles = resources_of_type(t, "AWS::IAM::Role")
    assert len(roles) == 2
    assert all(r["Properties"]["PermissionsBoundary"] == boundary for r in roles.values())
    assert lint_errors(t) == []
    # Without one, roles have none.
    t = synthesize(build, assets=("apps/app:lambda",))
    assert all(
        "PermissionsBoundary" not in r["Properties"]
        for r in resources_of_type(t, "AWS::IAM::Role").values()
    )
