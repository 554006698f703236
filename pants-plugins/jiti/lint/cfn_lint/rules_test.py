"""cfn-lint in `pants lint`: findings per stack and logical id, configuration, skipping."""

from __future__ import annotations

import os

import pytest
from pants.engine.addresses import Address

from jiti.lint.cfn_lint.rules import CfnLintRequest, render_findings
from jiti.lint.cfn_lint.subsystem import CfnLintFieldSet
from jiti.lint.testutil import make_lint_rule_runner, run_linter

GOOD = Address("apps/good", target_name="stack")
BAD = Address("apps/bad", target_name="stack")
BROKEN = Address("apps/broken", target_name="stack")
SKIPPED = Address("apps/skipped", target_name="stack")

GOOD_TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      SqsManagedSseEnabled: true
"""
BAD_TEMPLATE = '{"Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": "soon"}}}}'


@pytest.fixture(scope="module")
def rule_runner():
    runner = make_lint_rule_runner(CfnLintRequest)
    stack = 'cloudformation_stack(name="stack", source="{}"{})\n'
    runner.write_files(
        {
            "apps/good/BUILD": stack.format("stack.template.yaml", ""),
            "apps/good/stack.template.yaml": GOOD_TEMPLATE,
            "apps/bad/BUILD": stack.format("stack.template.json", ""),
            "apps/bad/stack.template.json": BAD_TEMPLATE,
            "apps/broken/BUILD": stack.format("stack.template.json", ""),
            "apps/broken/stack.template.json": "{not json",
            "apps/skipped/BUILD": stack.format("stack.template.json", ", skip_cfn_lint=True"),
            "apps/skipped/stack.template.json": BAD_TEMPLATE,
        }
    )
    return runner


def test_findings_name_the_stack_and_the_logical_id(rule_runner) -> None:
    (result,) = run_linter(rule_runner, CfnLintRequest, [GOOD, BAD])
    assert result.exit_code == 2  # cfn-lint's bit for errors
    assert result.stdout == (
        "apps/bad:stack: Queue: E3012 'soon' is not of type 'integer' "
        "(apps.bad/stack.template.json:5:9)\n"
    )


def test_a_clean_template_passes(rule_runner) -> None:
    (result,) = run_linter(rule_runner, CfnLintRequest, [GOOD])
    assert (result.exit_code, result.stdout) == (0, "")


def test_args_and_the_discovered_config_file_reach_cfn_lint(rule_runner) -> None:
    (result,) = run_linter(
        rule_runner, CfnLintRequest, [BAD], "--cfn-lint-args=--ignore-checks=E3012"
    )
    assert result.exit_code == 0

    rule_runner.write_files({".cfnlintrc": "ignore_checks:\n  - E3012\n"})
    try:
        (discovered,) = run_linter(rule_runner, CfnLintRequest, [BAD])
        (undiscovered,) = run_linter(
            rule_runner, CfnLintRequest, [BAD], "--no-cfn-lint-config-discovery"
        )
    finally:
        os.remove(os.path.join(rule_runner.build_root, ".cfnlintrc"))
    assert discovered.exit_code == 0
    assert undiscovered.exit_code == 2


def test_skip_option_and_field(rule_runner) -> None:
    assert run_linter(rule_runner, CfnLintRequest, [BAD], "--cfn-lint-skip") == []
    assert not CfnLintFieldSet.is_applicable(rule_runner.get_target(SKIPPED))


def test_a_stack_that_cannot_be_synthesized_is_a_finding(rule_runner) -> None:
    (result,) = run_linter(rule_runner, CfnLintRequest, [BROKEN, BAD])
    assert result.exit_code == 2
    broken, bad = result.stdout.splitlines()
    assert broken.startswith(
        "apps/broken:stack: field `source`: apps/broken/stack.template.json is not a valid "
        "CloudFormation JSON/YAML template"
    )
    assert bad.startswith("apps/bad:stack: Queue: E3012 ")


def test_output_that_is_not_findings_is_shown_as_it_is() -> None:
    assert render_findings(b"usage: cfn-lint [-h] ...", {}) is None
    assert render_findings(b"[]", {}) == ""
