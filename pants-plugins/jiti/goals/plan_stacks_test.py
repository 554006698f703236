"""`pants plan-stacks` as a goal: selecting nothing is fine, a plan role naming an unknown
placeholder stops it before anything is packaged."""

from __future__ import annotations

import pytest
from pants.testutil.rule_runner import engine_error

from jiti.errors import JitiError
from jiti.goals.plan_stacks import PlanStacks
from jiti.testutil import BASE_OPTIONS, ENV_INHERIT, make_rule_runner


@pytest.fixture
def rule_runner():
    runner = make_rule_runner()
    runner.write_files(
        {
            "docs/BUILD": 'files(name="docs", sources=["*.md"])',
            "docs/a.md": "# docs\n",
            "apps/q/BUILD": 'cloudformation_stack(name="stack", source="t.json")\n'
            'cloudformation_deployment(name="deploy", stack=":stack")\n',
            "apps/q/t.json": '{"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}',
        }
    )
    return runner


def run_goal(rule_runner, *args: str):
    return rule_runner.run_goal_rule(
        PlanStacks, global_args=BASE_OPTIONS, args=args, env_inherit=ENV_INHERIT
    )


def test_nothing_selected_plans_nothing(rule_runner):
    result = run_goal(rule_runner, "docs::")
    assert result.exit_code == 0
    assert result.stdout == "nothing to plan: no cloudformation_deployment is selected\n"


def test_a_plan_role_with_an_unknown_placeholder_is_refused_naming_the_option(rule_runner):
    with engine_error(JitiError, contains="[plan-stacks].assume_role: "):
        run_goal(
            rule_runner,
            "--plan-stacks-assume-role=arn:aws:iam::{account}:role/plan-{env}",
            "apps/q:deploy",
        )
