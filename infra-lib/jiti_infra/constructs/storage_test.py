from troposphere import Ref

from jiti_infra.constructs.functions import lambda_function
from jiti_infra.constructs.storage import (
    SITE_CONTENT_METADATA,
    allow_table_read,
    allow_table_write,
    static_site,
    table,
)
from jiti_infra.testing import lint_errors, synthesize


def test_table_is_retained_and_granted_narrowly():
    def build(app):
        t = table(app, "Orders", partition_key="id")
        fn = lambda_function(app, "Worker", asset=app.asset(":lambda"))
        allow_table_write(fn, t, "TABLE_NAME")
        return app.template

    t = synthesize(build, name="orders", assets=("apps/app:lambda",))
    assert lint_errors(t) == []
    res = t["Resources"]["Orders"]
    # Kept when the stack goes or the table is replaced; not left behind by a failed create.
    assert (
        res["DeletionPolicy"] == "RetainExceptOnCreate" and res["UpdateReplacePolicy"] == "Retain"
    )
    assert res["Properties"]["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    doc = t["Resources"]["WorkerRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    assert doc["Statement"][-1]["Resource"] == [{"Fn::GetAtt": ["Orders", "Arn"]}]
    assert t["Resources"]["Worker"]["Properties"]["Environment"]["Variables"]["TABLE_NAME"] == {
        "Ref": "Orders"
    }


def test_a_table_s_name_and_arn_are_outputs_other_apps_can_take():
    t = synthesize(lambda app: (table(app, "Orders", partition_key="id"), app.template)[1])
    assert t["Outputs"]["OrdersName"]["Value"] == {"Ref": "Orders"}
    assert t["Outputs"]["OrdersArn"]["Value"] == {"Fn::GetAtt": ["Orders", "Arn"]}


def test_another_app_s_table_is_granted_for_reads_only():
    def build(app):
        fn = lambda_function(app, "Reader", asset=app.asset(":lambda"))
        arn, name = app.input("TableArn"), app.input("TableName")
        allow_table_read(fn, arn=Ref(arn), name=Ref(name), env_var="TABLE_NAME")
        return app.template

    t = synthesize(build, assets=("apps/app:lambda",))
    assert lint_errors(t) == []
    # Required parameters, set by the deployment.
    assert {k: "Default" in v for k, v in t["Parameters"].items() if k.startswith("Table")} == {
        "TableArn": False,
        "TableName": False,
    }
    doc = t["Resources"]["ReaderRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    read = doc["Statement"][-1]
    assert read["Action"] == ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"]
    assert read["Resource"] == [{"Ref": "TableArn"}]
    variables = t["Resources"]["Reader"]["Properties"]["Environment"]["Variables"]
    assert variables["TABLE_NAME"] == {"Ref": "TableName"}


def test_static_site_names_its_content_asset():
    def build(app):
        static_site(app, "Site", content=app.asset(":content"))
        return app.template

    t = synthesize(build, name="Site", assets=("apps/app:content",))
    assert lint_errors(t) == []
    bucket = t["Resources"]["Site"]
    assert bucket["DeletionPolicy"] == "RetainExceptOnCreate"
    assert t["Metadata"][SITE_CONTENT_METADATA] == [
        {"Asset": f"assets/{0:064x}.zip", "BucketOutput": "SiteName"}
    ]
    # Bucket names are global and lowercase: app, env, account and region.
    assert bucket["Properties"]["BucketName"]["Fn::Join"][1][0] == {
        "Fn::Sub": "site-${Environment}-site"
    }
    # Encrypted and versioned; public reads are the one exception, and it is written down.
    props = bucket["Properties"]
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    skipped = {s["id"]: s["comment"] for s in bucket["Metadata"]["checkov"]["skip"]}
    assert set(skipped) == {"CKV_AWS_18", "CKV_AWS_54", "CKV_AWS_56"}
    assert "public by design" in skipped["CKV_AWS_54"]
    # The content's location uses the assets bucket parameter, so every parameter is used.
    assert t["Outputs"]["SiteContent"]["Value"] == {
        "Fn::Join": ["", ["s3://", {"Ref": "AssetsBucket"}, f"/assets/{0:064x}.zip"]]
    }
