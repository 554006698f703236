"""`--mode invoke` against the local AWS: a stack deployed by the runner, a real handler file run
in a real process with the live function's environment, reaching the table the stack made."""

from __future__ import annotations

import hashlib
import io
import json
import sys
import textwrap

import boto3
import pytest

from jiti_contract import (
    EXIT_USER_ERROR,
    InvokeRequest,
    StackPlace,
    asset_version_parameter,
    to_json,
)
from jiti_deploy import invoke, runner
from jiti_deploy.__main__ import parse
from jiti_deploy.destinations import Destination
from jiti_deploy.local_aws import CREDENTIALS
from jiti_deploy.testutil import quiet

REGION = "ca-central-1"  # this module's stacks only
CODE = b"the function's zip"
SECRET = "s3cret-token-value"

HANDLER = (
    """
import os

import boto3


def handle(event, context):
    table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    table.put_item(Item={"id": event["id"]})
    print("stored", event["id"])
    return {
        "function": context.function_name,
        "table": os.environ["TABLE_NAME"],
        "has_token": os.environ.get("API_TOKEN") == "%s",
        "memory": os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"],
        "handler": os.environ["_HANDLER"],
        "region": os.environ["AWS_REGION"],
    }
"""
    % SECRET
)


def function_and_table(code_sha: str) -> dict:
    """A table and a function whose code is the asset `code_sha`, told the table's name and a
    secret in its environment, as `jiti_infra.lambda_function` writes them."""
    version = asset_version_parameter(code_sha)
    code = {"S3Bucket": {"Ref": "AssetsBucket"}, "S3Key": f"assets/{code_sha}.zip"}
    code["S3ObjectVersion"] = {
        "Fn::If": [f"{version}Set", {"Ref": version}, {"Ref": "AWS::NoValue"}]
    }
    function = {
        "Runtime": "python3.11",
        "Handler": "lambda_function.handler",
        "Role": {"Fn::GetAtt": ["Role", "Arn"]},
        "Code": code,
        "MemorySize": 512,
        "Timeout": 20,
        "Environment": {"Variables": {"TABLE_NAME": {"Ref": "Table"}, "API_TOKEN": SECRET}},
    }
    table = {
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    return {
        "Parameters": {
            "AssetsBucket": {"Type": "String"},
            version: {"Type": "String", "Default": ""},
        },
        "Conditions": {f"{version}Set": {"Fn::Not": [{"Fn::Equals": [{"Ref": version}, ""]}]}},
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {"AssumeRolePolicyDocument": {"Version": "2012-10-17"}},
            },
            "Table": {"Type": "AWS::DynamoDB::Table", "Properties": table},
            "Handler": {"Type": "AWS::Lambda::Function", "Properties": function},
        },
    }


@pytest.fixture
def local_env(endpoint, monkeypatch):
    """The runtime's environment as `pants run` gives it, reaching the local AWS."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", CREDENTIALS["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CREDENTIALS["aws_secret_access_key"])
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return Destination(boto3.Session(region_name=REGION, **CREDENTIALS), endpoint, local=False)


def request_files(tmp_path, stack_name: str, asset_key: str, template: dict) -> list[str]:
    """The handler's sources under a build root, and the request and template beside it, as
    the plugin writes them; the runtime's arguments."""
    (tmp_path / "repo/app").mkdir(parents=True)
    (tmp_path / "repo/app/__init__.py").write_text("")
    (tmp_path / "repo/app/handler.py").write_text(textwrap.dedent(HANDLER))
    chroot = tmp_path / "chroot"
    chroot.mkdir()
    (chroot / "stack.template.json").write_text(json.dumps(template))
    request = InvokeRequest(
        "apps/inv:lambda",
        "app.handler:handle",
        "python3.11",
        sys.executable,
        (".",),
        "apps/inv:deploy",
        StackPlace("apps/inv:deploy", stack_name, region=REGION),
        "stack.template.json",
        asset_key,
    )
    (chroot / InvokeRequest.FILE).write_text(to_json(request))
    return ["--mode", "invoke", "--invoke", str(chroot / InvokeRequest.FILE), "--artifacts",
            str(chroot), "--build-root", str(tmp_path / "repo"), "--target", "aws"]  # fmt: skip


def test_the_handler_runs_as_its_live_function_and_reaches_the_stack_s_table(
    local_env, make, tmp_path, capfd
):
    sha = hashlib.sha256(CODE).hexdigest()
    template = function_and_table(sha)
    deployment = make(
        "inv", template, {"apps/inv:lambda": CODE}, region=REGION, capabilities=("CAPABILITY_IAM",)
    )
    runner.deploy(local_env, deployment, log=quiet)
    args = request_files(tmp_path, "inv-dev", f"assets/{sha}.zip", template)
    (tmp_path / "event.json").write_text('{"id": "order-1"}')

    assert invoke.main(parse([*args, "--event", str(tmp_path / "event.json")])) == 0

    out, err = capfd.readouterr()
    result = json.loads(out)
    cfn = local_env.client("cloudformation")
    table = cfn.describe_stack_resource(StackName="inv-dev", LogicalResourceId="Table")
    table_name = table["StackResourceDetail"]["PhysicalResourceId"]
    assert result["table"] == table_name and result["has_token"]
    assert result["memory"] == "512" and result["handler"] == "lambda_function.handler"
    assert result["region"] == REGION and result["function"].startswith("inv-dev-Handler")
    item = local_env.client("dynamodb").get_item(TableName=table_name, Key={"id": {"S": "order-1"}})
    assert "Item" in item  # the handler wrote to the stack's table, on the local AWS
    assert "running as inv-dev-Handler" in err and "2 environment variables" in err
    assert "stored order-1" in err  # the handler's prints are its logs, not its result
    assert SECRET not in err and table_name not in err


def test_a_lambda_whose_stack_is_not_deployed_runs_without_its_environment(
    local_env, tmp_path, capfd, monkeypatch
):
    args = request_files(tmp_path, "never-deployed", "assets/x.zip", function_and_table("x"))
    (tmp_path / "repo/app/handler.py").write_text(
        "import os\n\ndef handle(event, context):\n"
        "    return [context.function_name, os.environ.get('TABLE_NAME')]\n"
    )
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"id": "from stdin"}'))
    assert invoke.main(parse([*args, "--event", "-"])) == 0
    out, err = capfd.readouterr()
    assert json.loads(out) == ["apps-inv-lambda", None]
    (line,) = [line for line in err.splitlines() if "not deployed" in line]
    assert "apps/inv:deploy's stack never-deployed has no live function Handler" in line
    assert "`pants run apps/inv:deploy`" in line


def test_an_event_that_is_missing_or_not_json_is_one_line(local_env, tmp_path, capfd):
    args = request_files(tmp_path, "inv-dev", "assets/x.zip", {"Resources": {}})
    (tmp_path / "bad.json").write_text("{'id': 1}")
    for event, says in ((tmp_path / "bad.json", "not JSON"), (tmp_path / "no.json", "cannot read")):
        assert invoke.main(parse([*args, "--event", str(event)])) == EXIT_USER_ERROR
        out, err = capfd.readouterr()
        assert out == "" and err.count("\n") == 1
        assert err.startswith(f"error: --event {event}: {says}")
    with pytest.raises(invoke.InvokeError, match="--event stdin: not JSON"):
        invoke.read_event("-", io.StringIO("nope"))
    assert json.loads(invoke.read_event("-", io.StringIO('{"a": [1]}'))) == {"a": [1]}


def test_the_function_is_the_one_whose_code_is_the_lambda_s_asset():
    template = function_and_table("a")
    template["Resources"]["Other"] = json.loads(json.dumps(template["Resources"]["Handler"]))
    template["Resources"]["Other"]["Properties"]["Code"]["S3Key"] = "assets/b.zip"
    assert invoke.function_ids(template, "assets/a.zip") == ["Handler"]
    assert invoke.function_ids(template, "assets/b.zip") == ["Other"]
    assert invoke.function_ids(template, "assets/c.zip") == []
