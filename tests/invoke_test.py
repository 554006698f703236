"""A Lambda's handler run locally, end to end: `pants run apps/greeter:lambda -- --event ...`
runs greeter's handler on this machine with the environment of the function its deployment
made, and prints its result."""

from __future__ import annotations

import json
import subprocess

import pytest

EVENT = ("infra-lib/jiti_infra/sample_events.py", "--", "http-api", "--path", "/hello")


@pytest.fixture(scope="module")
def repo(make_repo):
    """greeter deployed, and an HTTP API event for it written as the README says."""
    repo = make_repo()
    repo.pants("run", "apps/greeter:deploy")
    event = repo.pants("run", *EVENT, "--query", "name=Ada").stdout
    repo.write("event.json", event)
    return repo


def greeting(stdout: str) -> dict:
    """The body of greeter's response: the only thing the run prints on stdout."""
    response = json.loads(stdout)
    assert response["statusCode"] == 200
    return json.loads(response["body"])


def test_the_handler_runs_with_its_deployed_function_s_environment(repo):
    run = repo.pants("run", "apps/greeter:lambda", "--", "--event", "event.json")
    # `env` is the function's JITI_ENV, set by its stack: without it greeter says "unknown".
    assert greeting(run.stdout) == {"env": "dev", "message": "Hello, Ada!"}
    (line,) = [line for line in run.stderr.splitlines() if "running as" in line]
    assert f"running as {repo.stack('greeter')}-Handler" in line
    assert "of apps/greeter:deploy, with its 2 environment variables (values not shown)" in line


def test_the_event_can_come_on_stdin_and_a_bad_one_is_one_line(repo):
    event = (repo.root / "event.json").read_text().replace("Ada", "Grace")
    run = subprocess.run(
        repo.pants_command("run", "apps/greeter:lambda", "--", "--event", "-"),
        cwd=repo.root,
        env=repo.env(),
        input=event,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert greeting(run.stdout)["message"] == "Hello, Grace!"

    repo.write("bad.json", "{'queryStringParameters': None}")
    bad = repo.pants("run", "apps/greeter:lambda", "--", "--event", "bad.json", check=False)
    assert bad.returncode == 2 and bad.stdout == ""
    (error,) = [line for line in bad.stderr.splitlines() if line.startswith("error")]
    assert error.startswith("error: --event bad.json: not JSON")
    assert "Traceback" not in bad.stderr
