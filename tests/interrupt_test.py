"""Interrupting `deploy-stacks` for real: Ctrl-C (SIGINT to the terminal's process group) and a
cancelled CI job (SIGTERM to `./pants` alone), sent to a real `./pants` process while it deploys
six stacks through a proxy that makes each AWS call take a while. The run starts nothing new,
reports what it did, exits 130 or 143; a re-run brings every stack to the desired version."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest
from jiti_aws_proxy import AwsProxy

pytestmark = pytest.mark.local_only("a proxy in front of the local AWS slows every call")

STACKS = [f"s{i}" for i in range(1, 7)]
DEPLOY = ("--jiti-max-parallel=2", "deploy-stacks", "tests/stacks::")


@pytest.fixture(scope="module")
def repo(make_repo):
    repo = make_repo("interrupt", store="store-interrupt")
    for name in STACKS:
        repo.write(
            f"tests/stacks/{name}/BUILD",
            'cloudformation_stack(name="stack", source="template.json")\n'
            'cloudformation_deployment(name="deploy", stack=":stack")\n',
        )
        write_template(repo, name, "first")
    repo.commit("six stacks")
    repo.pants("package", "tests/stacks::")  # built up front, so the deploy starts at once
    repo.pants("run", "infra-lib/jiti_deploy/local_aws:ctl", "--", "start")
    return repo


def write_template(repo, name: str, revision: str) -> None:
    template = {
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {"Revision": {"Value": revision}},
    }
    repo.write(f"tests/stacks/{name}/template.json", json.dumps(template))


def report(repo) -> dict:
    return json.loads((repo.root / "dist/jiti-deploy-report.json").read_text())


def interrupted_run(repo, sig: signal.Signals, *, to_group: bool) -> tuple[int, str]:
    """Deploy through a slow proxy, send `sig` once a stack is deployed, and wait for the run
    to end and its report to be written (the proxy stays up while the deploy winds down)."""
    (repo.root / "dist/jiti-deploy-report.json").unlink(missing_ok=True)
    with AwsProxy(repo.local_aws_endpoint()) as proxy:
        proxy.latency_s = 0.3
        env = repo.env(
            {
                "AWS_ENDPOINT_URL": proxy.endpoint,
                "AWS_ACCESS_KEY_ID": "jiti-local",
                "AWS_SECRET_ACCESS_KEY": "jiti-local",
                "AWS_DEFAULT_REGION": "us-east-1",
            }
        )
        process = subprocess.Popen(
            repo.pants_command("--jiti-target=aws", *DEPLOY),
            cwd=repo.root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group, as a terminal gives a command
        )
        output = []
        for line in process.stdout:
            output.append(line)
            if "deployed version" in line and process.returncode is None:
                if to_group:
                    os.killpg(process.pid, sig)  # what Ctrl-C does
                else:
                    process.send_signal(sig)
                break
        output += process.stdout.readlines()
        code = process.wait(timeout=120)
        deadline = time.monotonic() + 30
        while (
            time.monotonic() < deadline
            and not (repo.root / "dist/jiti-deploy-report.json").exists()
        ):
            time.sleep(0.5)
    return code, "".join(output)


def assert_converged(repo) -> None:
    """A plain re-run deploys what the interrupted one did not: every stack at its version."""
    repo.pants("--jiti-target=local", *DEPLOY)
    assert {r["result"] for r in report(repo)["deployments"]} <= {"deployed", "up to date"}
    cfn = repo.aws("cloudformation")
    for name in STACKS:
        version = json.loads(
            (repo.root / f"dist/tests.stacks.{name}/stack.manifest.json").read_text()
        )["version"]
        recorded = {
            o["OutputKey"]: o["OutputValue"]
            for o in cfn.describe_stacks(StackName=repo.stack(name))["Stacks"][0]["Outputs"]
        }
        assert recorded["JitiVersion"] == version, name


def test_ctrl_c_starts_nothing_new_reports_and_exits_130(repo):
    code, output = interrupted_run(repo, signal.SIGINT, to_group=True)
    assert code == 130, output
    assert "SIGINT: starting nothing new" in output
    run = report(repo)
    assert run["interrupted"] is True
    results = [row["result"] for row in run["deployments"]]
    assert len(results) == len(STACKS) and "deployed" in results and "interrupted" in results
    assert "Traceback" not in output
    assert_converged(repo)


def test_a_cancelled_ci_job_sigterm_is_reported_and_exits_143(repo):
    for name in STACKS:
        write_template(repo, name, "second")
    repo.commit("a second revision of every stack")
    repo.pants("package", "tests/stacks::")
    code, _ = interrupted_run(repo, signal.SIGTERM, to_group=False)
    assert code == 143
    run = report(repo)  # written though nobody read the output any more
    assert run["interrupted"] is True
    assert "interrupted" in [row["result"] for row in run["deployments"]]
    assert_converged(repo)
