"""The deploy runtime starts fast: it imports neither troposphere nor the building blocks."""

from __future__ import annotations

import os
import subprocess
import sys

from jiti_deploy import __main__ as deploy_runtime  # noqa: F401 (in the sandbox for the test)


def test_the_deploy_runtime_starts_without_troposphere():
    code = "import sys, jiti_deploy.__main__; print(sorted({'troposphere', 'jiti_infra'} & set(sys.modules)))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_only_the_listed_variables_reach_the_deploy(monkeypatch):
    """`pants run` passes the whole environment; the runtime keeps what the other goals pass."""
    from jiti_deploy.__main__ import keep_only

    monkeypatch.setenv("AWS_PROFILE", "ci")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/elsewhere")
    keep_only(["AWS_PROFILE", "PATH"])
    assert os.environ.get("AWS_PROFILE") == "ci"
    assert "AWS_SHARED_CREDENTIALS_FILE" not in os.environ


def test_a_listed_variable_written_with_its_value_is_kept(monkeypatch):
    """`[jiti].extra_env_vars` may say `NAME=value`: the value comes in the environment, and
    the variable is kept by its name."""
    from jiti_deploy.__main__ import keep_only

    monkeypatch.setenv("DEPLOY_TOKEN", "from-the-environment")
    keep_only(["PATH", "DEPLOY_TOKEN=from-the-environment"])
    assert os.environ.get("DEPLOY_TOKEN") == "from-the-environment"


def test_a_region_that_does_not_exist_is_refused_before_any_call(tmp_path, capsys):
    """Checked against botocore's endpoint data, with the address and field, exit code 2."""
    from jiti_contract import Manifest, Plan, StackSetSettings, to_json
    from jiti_deploy import output
    from jiti_deploy.__main__ import main

    manifest = Manifest("apps/a:stack", "a", "0" * 64, "t.json", "0" * 64, (), {}, {}, None)
    (tmp_path / "m.json").write_text(manifest.to_json())
    plans = [
        Plan("apps/a:deploy", "deploy", "a", "a-dev", "dev", "m.json", region="us-east-7"),
        Plan(
            "apps/a:fleet",
            "fleet",
            "a",
            "a-fleet",
            "dev",
            "m.json",
            region="eu-west-1",
            stack_set=StackSetSettings(("111111111111",), ("eu-west-1", "mars-north-1"), 25, 0),
        ),
    ]
    argv = ["--artifacts", str(tmp_path), "--state-dir", str(tmp_path / "state")]
    for i, plan in enumerate(plans):
        (tmp_path / f"p{i}.json").write_text(to_json(plan))
        argv += ["--plan", str(tmp_path / f"p{i}.json")]
    assert main(argv) == 2
    assert output.flushed(timeout_s=5)
    assert capsys.readouterr().err.splitlines() == [
        "error: apps/a:deploy: field `region`: 'us-east-7' is not an AWS region "
        "(e.g. us-east-1, eu-west-1; see `aws ec2 describe-regions`)",
        "apps/a:fleet: field `stack_set_regions`: 'mars-north-1' is not an AWS region "
        "(e.g. us-east-1, eu-west-1; see `aws ec2 describe-regions`)",
    ]
    assert not (tmp_path / "state").exists()  # the local AWS was not even started
