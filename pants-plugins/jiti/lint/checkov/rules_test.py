"""checkov in `pants lint`: policy failures per stack and resource, suppressions, skipping."""

from __future__ import annotations

import json
import os

import pytest
from pants.engine.addresses import Address

from jiti.lint.checkov.rules import CheckovRequest, render_report
from jiti.lint.checkov.subsystem import CheckovFieldSet
from jiti.lint.testutil import make_lint_rule_runner, run_linter

GOOD = Address("apps/good", target_name="stack")
BAD = Address("apps/bad", target_name="stack")
SKIPPED = Address("apps/skipped", target_name="stack")

ASSUME_LAMBDA = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def template(queue_properties: dict, role_action: str, role_metadata: dict | None = None) -> str:
    role = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": ASSUME_LAMBDA,
            "Policies": [
                {
                    "PolicyName": "send",
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": role_action,
                                "Resource": {"Fn::GetAtt": ["Queue", "Arn"]},
                            }
                        ],
                    },
                }
            ],
        },
    }
    if role_metadata:
        role["Metadata"] = role_metadata
    resources = {
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": queue_properties},
        "Sender": role,
    }
    return json.dumps({"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources})


# An encrypted queue and a role that may only send to it; the role's policy is also checked
# for `*` resources (CKV_AWS_111 etc.), so it names the queue.
GOOD_TEMPLATE = template({"KmsMasterKeyId": "alias/aws/sqs"}, "sqs:SendMessage")
# An unencrypted queue and a role allowed every action.
BAD_TEMPLATE = template({}, "*")


@pytest.fixture(scope="module")
def rule_runner():
    runner = make_lint_rule_runner(CheckovRequest)
    stack = 'cloudformation_stack(name="stack", source="stack.template.json"{})\n'
    runner.write_files(
        {
            "apps/good/BUILD": stack.format(""),
            "apps/good/stack.template.json": GOOD_TEMPLATE,
            "apps/bad/BUILD": stack.format(""),
            "apps/bad/stack.template.json": BAD_TEMPLATE,
            "apps/skipped/BUILD": stack.format(", skip_checkov=True"),
            "apps/skipped/stack.template.json": BAD_TEMPLATE,
        }
    )
    return runner


def failures(stdout: str) -> set[str]:
    """`<address>: <logical id> (<type>): <check id>` of each failed check."""
    return {" ".join(line.split(" ")[:4]) for line in stdout.splitlines()[:-1]}


def test_failed_policies_name_the_stack_and_the_resource(rule_runner) -> None:
    (result,) = run_linter(rule_runner, CheckovRequest, [GOOD, BAD])
    assert result.exit_code == 1
    found = failures(result.stdout)
    assert "apps/bad:stack: Queue (AWS::SQS::Queue): CKV_AWS_27" in found  # not encrypted
    assert "apps/bad:stack: Sender (AWS::IAM::Role): CKV_AWS_63" in found  # "*" as action
    assert not [f for f in found if f.startswith("apps/good")]
    assert result.stdout.splitlines()[-1].startswith("2 templates: ")


def test_a_compliant_template_passes(rule_runner) -> None:
    (result,) = run_linter(rule_runner, CheckovRequest, [GOOD])
    assert result.exit_code == 0, result.stdout
    assert result.stdout.startswith("1 template: ") and " 0 failed, 0 skipped" in result.stdout


def test_suppressions_in_the_config_file_and_in_resource_metadata(rule_runner) -> None:
    (bad,) = run_linter(rule_runner, CheckovRequest, [BAD])
    suppressed_by_config = {f.split(" ")[-1] for f in failures(bad.stdout)} - {"CKV_AWS_27"}
    rule_runner.write_files(
        {
            ".checkov.yaml": "skip-check:\n"
            + "".join(f"  - {check}\n" for check in sorted(suppressed_by_config)),
            # The last failure is suppressed on the resource itself, with its reason.
            "apps/bad/stack.template.json": BAD_TEMPLATE.replace(
                '"Type": "AWS::SQS::Queue"',
                '"Metadata": {"checkov": {"skip": [{"id": "CKV_AWS_27", "comment": "test data only"}]}}, '
                '"Type": "AWS::SQS::Queue"',
            ),
        }
    )
    try:
        (suppressed,) = run_linter(rule_runner, CheckovRequest, [BAD])
        (undiscovered,) = run_linter(
            rule_runner, CheckovRequest, [BAD], "--no-checkov-config-discovery"
        )
    finally:
        os.remove(os.path.join(rule_runner.build_root, ".checkov.yaml"))
        rule_runner.write_files({"apps/bad/stack.template.json": BAD_TEMPLATE})
    assert suppressed.exit_code == 0, suppressed.stdout
    assert suppressed.stdout.endswith(" 0 failed, 1 skipped\n")
    assert undiscovered.exit_code == 1
    assert failures(undiscovered.stdout) == failures(bad.stdout) - {
        "apps/bad:stack: Queue (AWS::SQS::Queue): CKV_AWS_27"
    }


def test_skip_option_field_and_args(rule_runner) -> None:
    assert run_linter(rule_runner, CheckovRequest, [BAD], "--checkov-skip") == []
    assert not CheckovFieldSet.is_applicable(rule_runner.get_target(SKIPPED))
    (only_sqs,) = run_linter(
        rule_runner, CheckovRequest, [BAD], "--checkov-args=--check=CKV_AWS_27"
    )
    assert failures(only_sqs.stdout) == {"apps/bad:stack: Queue (AWS::SQS::Queue): CKV_AWS_27"}


def test_output_that_is_not_a_report_is_shown_as_it_is() -> None:
    assert render_report(b"usage: checkov [-h] ...", {}) is None
