"""`pants deploy-stacks` as a goal: selecting nothing is fine, a broken deployment stops it
before anything runs."""

from __future__ import annotations

import pytest
from pants.testutil.rule_runner import engine_error

from jiti.errors import JitiError
from jiti.goals.deploy_stacks import DeployStacks
from jiti.goals.drift_stacks import DriftStacks
from jiti.testutil import BASE_OPTIONS, ENV_INHERIT, make_rule_runner


@pytest.fixture
def rule_runner():
    runner = make_rule_runner()
    runner.write_files(
        {
            "docs/BUILD": 'files(name="docs", sources=["*.md"])',
            "docs/a.md": "# docs\n",
            "apps/bad/BUILD": 'cloudformation_stack(name="stack", source="t.json")\n'
            'cloudformation_deployment(name="deploy", stack=":stack")\n',
            "apps/bad/t.json": '{"Resources": ',
        }
    )
    return runner


def run_goal(rule_runner, *specs: str):
    return rule_runner.run_goal_rule(
        DeployStacks, global_args=BASE_OPTIONS, args=specs, env_inherit=ENV_INHERIT
    )


def test_nothing_selected_is_not_an_error(rule_runner):
    result = run_goal(rule_runner, "docs::")
    assert result.exit_code == 0
    assert result.stdout == "nothing to deploy: no cloudformation_deployment is selected\n"


def test_a_deployment_that_cannot_be_packaged_fails_the_goal_naming_it(rule_runner):
    with engine_error(JitiError, contains="apps/bad:stack: field `source`: apps/bad/t.json"):
        run_goal(rule_runner, "apps/bad:deploy")


def test_drift_with_nothing_selected_checks_nothing(rule_runner):
    result = rule_runner.run_goal_rule(
        DriftStacks, global_args=BASE_OPTIONS, args=["docs::"], env_inherit=ENV_INHERIT
    )
    assert result.exit_code == 0
    assert result.stdout == "nothing to check: no cloudformation_deployment is selected\n"
