"""A reviewed plan, then the deploy that merges it (`--expect-plan`): what is as reviewed
deploys; a deployment whose stack moved since the plan, whose version is not the planned one,
or that the plan does not hold is refused, one line each, and its dependents skipped; a plan
file that cannot be read is one user error. Through the command line, on the local AWS."""

from __future__ import annotations

import dataclasses
import json

import pytest

from jiti_contract import EXIT_USER_ERROR, to_json
from jiti_deploy import live, output, runner
from jiti_deploy.__main__ import main
from jiti_deploy.local_aws import LocalAws
from jiti_deploy.report import Result
from jiti_deploy.testutil import quiet


@pytest.fixture
def use_local_aws(endpoint, monkeypatch):
    monkeypatch.setattr(
        "jiti_deploy.local_aws.ensure_running",
        lambda state_dir, log=print: LocalAws(endpoint=endpoint, pid=0),
    )


def queue(visibility: int) -> dict:
    return {
        "Resources": {
            "Q": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": visibility}}
        }
    }


def elsewhere(deployment, app: str):
    """`deployment`'s packaged stack deployed as `app`'s (its own files, so `app`'s stay)."""
    plan = dataclasses.replace(
        deployment.plan, app=app, address=f"apps/{app}:deploy", stack_name=f"{app}-dev"
    )
    return dataclasses.replace(deployment, plan=plan)


def written(tmp_path, deployment) -> str:
    path = tmp_path / "plans" / f"{deployment.plan.app}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(to_json(deployment.plan))
    return str(path)


def run(tmp_path, mode: str, deployments, *extra: str) -> int:
    argv = ["--mode", mode, "--artifacts", str(tmp_path), "--state-dir", str(tmp_path / "s")]
    for d in deployments:
        argv += ["--plan", written(tmp_path, d)]
    code = main([*argv, *extra])
    assert output.flushed(timeout_s=5)
    return code


def test_only_what_is_as_reviewed_deploys(destination, make, tmp_path, use_local_aws, capsys):
    for name in ("ex-same", "ex-moved"):
        runner.deploy(destination, make(name, queue(30)), log=quiet)
    reviewed = [make("ex-same", queue(40)), make("ex-moved", queue(40))]
    plan, report = tmp_path / "plan.json", tmp_path / "report.json"
    markdown = tmp_path / "plan.md"
    args = ["--plan-json", str(plan), "--plan-markdown", str(markdown)]
    assert run(tmp_path, "plan", reviewed, *args) == 0
    assert [e["status"] for e in json.loads(plan.read_text())["deployments"]] == ["changes"] * 2
    assert markdown.read_text().splitlines()[2].startswith("2 stacks change in 1 account")

    runner.deploy(destination, elsewhere(make("ex-oob", queue(50)), "ex-moved"), log=quiet)
    later = make("ex-later", queue(30), depends_on=("apps/ex-moved:deploy",))
    not_planned = make("ex-new", queue(30))
    deployments = [*reviewed, later, not_planned]
    code = run(tmp_path, "deploy", deployments, "--expect-plan", str(plan), "--report", str(report))
    assert code == 1
    rows = {r["deployment"]: r for r in json.loads(report.read_text())["deployments"]}
    assert rows["apps/ex-same:deploy"]["result"] == Result.DEPLOYED.value
    assert rows["apps/ex-later:deploy"]["result"] == Result.SKIPPED.value
    moved = rows["apps/ex-moved:deploy"]
    assert moved["result"] == Result.FAILED.value
    # moved by another deploy: its last update (as CloudFormation records it) and its version
    assert "refused, not as reviewed in plan.json: live last updated is " in moved["error"]
    assert "; live version is " in moved["error"]
    assert "\n" not in moved["error"]
    assert rows["apps/ex-new:deploy"]["error"].endswith("it is not in the plan")


def test_a_version_other_than_the_planned_one_is_refused(
    destination, make, tmp_path, use_local_aws
):
    plan = tmp_path / "plan.json"
    assert run(tmp_path, "plan", [make("ex-version", queue(30))], "--plan-json", str(plan)) == 0
    report = tmp_path / "report.json"
    other = make("ex-version", queue(31))
    code = run(tmp_path, "deploy", [other], "--expect-plan", str(plan), "--report", str(report))
    (row,) = json.loads(report.read_text())["deployments"]
    assert code == 1 and row["result"] == Result.FAILED.value
    assert f"its version is {other.version[:12]}, the plan's" in row["error"]
    assert live.describe(destination.client("cloudformation"), "ex-version-dev") is None


@pytest.mark.parametrize(
    "content", ["{not json", '{"format": 1}', '{"format": 2, "deployments": []}']
)
def test_a_plan_file_that_cannot_be_read_is_one_user_error(
    make, tmp_path, use_local_aws, capsys, content
):
    plan = tmp_path / "plan.json"
    plan.write_text(content)
    code = run(tmp_path, "deploy", [make("ex-bad", queue(30))], "--expect-plan", str(plan))
    err = capsys.readouterr().err
    assert code == EXIT_USER_ERROR
    assert err.startswith("error: --expect-plan: the plan ") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_broadening_needs_approval(make, tmp_path, use_local_aws, capsys):
    trust = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ]
    }
    role = {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": trust}}
    wide = make("ex-wide", {"Resources": {"Role": role}}, capabilities=("CAPABILITY_IAM",))
    plan, markdown = tmp_path / "plan.json", tmp_path / "plan.md"
    args = ["--plan-json", str(plan), "--plan-markdown", str(markdown)]
    assert run(tmp_path, "plan", [wide], *args) == 0
    capsys.readouterr()
    assert run(tmp_path, "plan", [wide], *args, "--require-approval", "broadening") == 1
    err = capsys.readouterr().err
    assert "approval required: apps/ex-wide:deploy: Role: trusts new principals" in err
    assert "### Security" in markdown.read_text() and plan.exists()
