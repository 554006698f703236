"""The sandbox-account mode of the end-to-end tests makes each test repository a run of its own."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import copy_build_root
from tests.e2e_target import Run, target, without_other_accounts

PROD_COPIES = """# Production.
cloudformation_deployment(
    name="prod",
    stack=":stack",
    account=parametrize("111111111111", "222222222222"),
    region=parametrize("us-east-1", "eu-west-1"),
)
"""


def test_a_sandbox_run_deploys_every_app_in_its_own_environment_and_one_account(tmp_path):
    run = Run("e2e0123abcd", "jiti-e2e0123abcd")
    copy_build_root(tmp_path, run)
    builds = {p.parent.name: p.read_text() for p in (tmp_path / "apps").glob("*/BUILD")}
    assert {"greeter", "orders", "reports", "site"} <= set(builds)
    for text in builds.values():
        ast.parse(text)
        assert 'environment="dev"' not in text and "account=" not in text
    assert 'environment="e2e0123abcd"' in builds["greeter"]
    assert run.stack("greeter") == "greeter-e2e0123abcd"
    assert run.pants_env()["PANTS_JITI_REPOSITORY"] == "jiti-e2e0123abcd"


def test_only_deployments_to_other_accounts_are_left_out():
    kept = 'cloudformation_deployment(name="deploy", stack=":stack", environment="dev")\n'
    assert without_other_accounts(kept + PROD_COPIES) == kept


def test_the_local_aws_is_the_default_and_its_runs_are_the_repository_as_it_is(tmp_path):
    if target() != "local":
        pytest.skip("JITI_E2E_TARGET is set")
    run = Run.new()
    assert (run.environment, run.sandbox, run.pants_env()) == ("dev", False, {})
    copy_build_root(tmp_path, run)
    source = Path(__file__).parent.parent / "apps/greeter/BUILD"
    assert (tmp_path / "apps/greeter/BUILD").read_text() == source.read_text()


def test_an_unknown_target_is_refused(monkeypatch):
    monkeypatch.setenv("JITI_E2E_TARGET", "staging")
    with pytest.raises(SystemExit, match="JITI_E2E_TARGET='staging': expected one of local, aws"):
        target()
