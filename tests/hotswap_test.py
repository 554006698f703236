"""`deploy-stacks --jiti-hotswap` end to end: a handler edit reaches the function directly and
the stack's template is left as it was, the next normal deploy deploys; an infrastructure edit
deploys normally, saying why; production is refused before any call."""

from __future__ import annotations

import base64
import io
import json
import re
import zipfile

import pytest

HOTSWAP = ("deploy-stacks", "--jiti-hotswap", "apps/greeter:deploy")
PROD = "apps/greeter:prod@account=111111111111,region=us-east-1"


def results(repo) -> dict[str, str]:
    rows = json.loads((repo.root / "dist/jiti-deploy-report.json").read_text())["deployments"]
    return {row["deployment"]: row["result"] for row in rows}


def live_template(repo) -> dict:
    cfn = repo.aws("cloudformation")
    body = cfn.get_template(StackName=repo.stack("greeter"))["TemplateBody"]
    return body if isinstance(body, dict) else json.loads(body)


def code_key(repo) -> str:
    return live_template(repo)["Resources"]["Handler"]["Properties"]["Code"]["S3Key"]


def function(repo) -> dict:
    cfn = repo.aws("cloudformation")
    (fn,) = cfn.describe_stack_resources(
        StackName=repo.stack("greeter"), LogicalResourceId="Handler"
    )["StackResources"]
    return repo.aws("lambda").get_function_configuration(FunctionName=fn["PhysicalResourceId"])


def handler_in_asset(repo, key: str) -> str:
    s3 = repo.aws("s3")
    (bucket,) = [b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith("jiti-")]
    archive = zipfile.ZipFile(io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))
    (name,) = [n for n in archive.namelist() if n.endswith("greeter/handler.py")]
    return archive.read(name).decode()


@pytest.fixture(scope="module")
def repo(make_repo):
    repo = make_repo()
    repo.pants("deploy-stacks", "apps/greeter:deploy")
    assert results(repo) == {"apps/greeter:deploy": "deployed"}
    return repo


def test_a_handler_edit_is_hotswapped_and_the_next_deploy_reconciles(repo):
    before, template = code_key(repo), live_template(repo)
    repo.edit("apps/greeter/handler.py", 'f"Hello, ', 'f"Hi there, ')
    out = repo.pants(*HOTSWAP).stdout
    assert results(repo) == {"apps/greeter:deploy": "hotswapped"}
    (new,) = re.findall(r"Handler \(\S+\): code updated to (assets/[0-9a-f]{64}\.zip)", out)
    sha256 = new.split("/")[1].removesuffix(".zip")
    assert function(repo)["CodeSha256"] == base64.b64encode(bytes.fromhex(sha256)).decode()
    assert "Hi there, " in handler_in_asset(repo, new)
    assert live_template(repo) == template and before != new  # the stack is untouched

    repo.pants("deploy-stacks", "apps/greeter:deploy")
    assert results(repo) == {"apps/greeter:deploy": "deployed"}  # never "up to date"
    assert code_key(repo) == new


def test_an_infrastructure_edit_is_deployed_normally_saying_why(repo):
    repo.edit("apps/greeter/infra.py", "memory=256", "memory=512")
    out = repo.pants(*HOTSWAP).stdout
    assert "not hotswappable: Function Handler changed" in out
    assert results(repo) == {"apps/greeter:deploy": "deployed"}
    assert function(repo)["MemorySize"] == 512


def test_production_is_refused_before_any_call(repo):
    result = repo.pants("deploy-stacks", "--jiti-hotswap", PROD, check=False)
    assert result.returncode == 2
    refusal = (
        f"error: {PROD}: hotswap refused: environment 'prod' is in "
        "[jiti].protected_environments; deploy it without --jiti-hotswap"
    )
    assert refusal in (result.stdout + result.stderr).splitlines()
    names = {s["StackName"] for s in repo.aws("cloudformation").describe_stacks()["Stacks"]}
    assert not [n for n in names if "prod" in n]
