"""Secrets never leave the runtime in clear: `NoEcho` values (parameters and inputs), and the
outputs a consumer takes as `NoEcho`, are masked in the log, the report, the plan (JSON and
Markdown) and the outputs files, against the local AWS, through the runtime's own main."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jiti_contract import Consumer, StackPlace, to_json
from jiti_deploy import local_aws, output
from jiti_deploy.__main__ import main

REGION = "us-east-1"
OLD, NEW = "old-Pa$$w0rd-1", 'new-"Pa$$w0rd"-2'  # the new one needs escaping in JSON


def _queue_template(visibility: int) -> dict:
    """The issue's reproduction: a NoEcho password used as a tag value of a queue."""
    return {
        "Parameters": {"DbPassword": {"Type": "String", "NoEcho": "true"}},
        "Resources": {
            "Queue": {
                "Type": "AWS::SQS::Queue",
                "Properties": {
                    "VisibilityTimeout": visibility,
                    "Tags": [{"Key": "pw", "Value": {"Ref": "DbPassword"}}],
                },
            }
        },
    }


@pytest.fixture
def local(endpoint, monkeypatch):
    monkeypatch.setattr(
        local_aws, "ensure_running", lambda state_dir, log=print: local_aws.LocalAws(endpoint, 0)
    )


def _deploy_stacks(tmp_path: Path, deployments, capsys, *extra: str) -> tuple[int, str]:
    """The runtime as `deploy-stacks` runs it: a report, the plan as Markdown, outputs files."""
    dist = tmp_path / "dist"
    argv = ["--artifacts", str(tmp_path), "--state-dir", str(tmp_path / "state")]
    argv += ["--report", str(dist / "jiti-deploy-report.json"), "--outputs-dir", str(dist)]
    argv += ["--plan-markdown", str(dist / "jiti-deploy-report.md"), *extra]
    for d in deployments:
        path = tmp_path / f"{d.plan.app}.plan.json"
        path.write_text(to_json(d.plan))
        argv += ["--plan", str(path)]
    code = main(argv)
    assert output.flushed(timeout_s=5)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _dist(tmp_path: Path) -> str:
    return "\n".join(p.read_text() for p in sorted((tmp_path / "dist").rglob("*")) if p.is_file())


def _clear(text: str, *secrets: str) -> list[str]:
    """The secrets found in `text`, as they are or as JSON writes them."""
    return [s for s in secrets if s in text or json.dumps(s)[1:-1] in text]


def test_a_changed_no_echo_password_shows_nowhere(local, make, tmp_path, capsys):
    def deployment(visibility: int, password: str):
        return make(
            "vault",
            _queue_template(visibility),
            region=REGION,
            parameters={"DbPassword": password},
        )

    code, _ = _deploy_stacks(tmp_path, [deployment(30, OLD)], capsys)
    assert code == 0
    for dry_run in (("--dry-run",), ()):
        code, shown = _deploy_stacks(tmp_path, [deployment(60, NEW)], capsys, *dry_run)
        assert code == 0, shown
        assert "VisibilityTimeout: 30 -> 60" in shown  # what is not secret still shows
        assert "Tags: **** -> ****" in shown
        assert _clear(shown, OLD, NEW) == []
        assert _clear(_dist(tmp_path), OLD, NEW) == []
        assert (
            "VisibilityTimeout: `30` → `60`"
            in (tmp_path / "dist/jiti-deploy-report.md").read_text()
        )


def test_an_output_a_consumer_takes_as_no_echo_is_masked_in_the_producer_s_deploy(
    local, make, tmp_path, capsys
):
    token = "tok-3xample-value"
    template = {
        "Parameters": {"Seed": {"Type": "String"}},
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {"Token": {"Value": {"Ref": "Seed"}}, "Url": {"Value": {"Ref": "Queue"}}},
    }
    taker = StackPlace("apps/taker:deploy", "taker-dev", region=REGION)
    producer = make(
        "issuer",
        template,
        region=REGION,
        parameters={"Seed": token},
        consumers=(Consumer(taker, ("Token", "Url"), no_echo_outputs=("Token",)),),
    )
    code, shown = _deploy_stacks(tmp_path, [producer], capsys)
    assert code == 0, shown
    assert "  Token = ****" in shown
    assert "  Url = http" in shown  # what no consumer takes as NoEcho still shows
    written = json.loads((tmp_path / "dist/issuer/stack.deploy.outputs.json").read_text())
    assert written["Token"] == "****"
    assert _clear(shown + _dist(tmp_path), token) == []
