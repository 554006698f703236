"""The deployment target: its inferred dependencies and the mistakes it reports."""

from __future__ import annotations

import json
from textwrap import dedent

import pytest
from pants.engine.addresses import Address
from pants.engine.fs import DigestContents
from pants.engine.target import InferredDependencies
from pants.testutil.rule_runner import QueryRule, engine_error

from jiti.deploy import (
    DeploymentFieldSet,
    DeploymentSetup,
    DeploymentSetupRequest,
    InferDeploymentDependencies,
)
from jiti.errors import JitiError
from jiti.testutil import make_rule_runner


@pytest.fixture(scope="module")
def rule_runner():
    runner = make_rule_runner(
        QueryRule(DeploymentSetup, [DeploymentSetupRequest]),
        QueryRule(InferredDependencies, [InferDeploymentDependencies]),
    )
    runner.write_files(
        {
            "apps/q/BUILD": dedent(
                """\
                python_sources(name="src")
                cloudformation_stack(name="stack", source="t.json", stack_name="queue-app")
                cloudformation_deployment(name="deploy", stack=":stack", environment="prod",
                    parameters={"Size": "3"}, stack_tags={"team": "a"})
                cloudformation_deployment(name="placeholder", stack=":stack", stack_name="{app}-{region}")
                cloudformation_deployment(name="notastack", stack=":src")
                cloudformation_deployment(name="halfset", stack=":stack", stack_set_accounts=["111111111111"])
                cloudformation_deployment(name="fleet", stack=":stack",
                    stack_set_accounts=["222222222222", "111111111111"], stack_set_regions=["eu-west-1"])
                cloudformation_deployment(name="copies", stack=":stack",
                    account=parametrize("111111111111", "222222222222"))
                """
            ),
            "apps/q/t.json": '{"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}',
            "apps/q/lib.py": "X = 1\n",
        }
    )
    return runner


def field_set(rule_runner, name: str) -> DeploymentFieldSet:
    return DeploymentFieldSet.create(rule_runner.get_target(Address("apps/q", target_name=name)))


def test_deployment_depends_on_its_stack_and_the_deploy_runtime(rule_runner) -> None:
    inferred = rule_runner.request(
        InferredDependencies, [InferDeploymentDependencies(field_set(rule_runner, "deploy"))]
    )
    assert set(inferred.include) == {
        Address("apps/q", target_name="stack"),
        Address("infra-lib/jiti_infra/deploy", relative_file_path="__main__.py"),
    }


def test_plan_carries_the_deployment_settings(rule_runner) -> None:
    setup = rule_runner.request(
        DeploymentSetup, [DeploymentSetupRequest(field_set(rule_runner, "deploy"))]
    )
    files = {fc.path: fc.content for fc in rule_runner.request(DigestContents, [setup.digest])}
    assert setup.plan_path.startswith("jiti-plans/")  # one file per deployment, for deploy-stacks
    plan = json.loads(files[setup.plan_path])
    assert setup.stack_name == "queue-app-prod"
    assert plan["stack_name"] == "queue-app-prod" and plan["app"] == "queue-app"
    assert plan["environment"] == "prod" and plan["parameters"] == {"Size": "3"}
    assert plan["tags"] == {"team": "a"} and plan["name"] == "deploy"
    assert plan["account"] is None and plan["stack_set"] is None and plan["depends_on"] == []
    assert plan["manifest"] == "apps.q/stack.manifest.json"
    assert {"jiti-deploy.pex", "apps.q/stack.template.json", "apps.q/stack.manifest.json"} <= set(
        files
    )


@pytest.mark.parametrize(
    "name, expected",
    [
        (
            "placeholder",
            "apps/q:placeholder: field `stack_name`: '{app}-{region}' may use only {app} and {env}",
        ),
        (
            "notastack",
            "apps/q:notastack: field `stack`: apps/q:src is a `python_sources`, not a `cloudformation_stack`",
        ),
    ],
)
def test_deployment_mistakes_name_the_field(rule_runner, name: str, expected: str) -> None:
    with engine_error(JitiError, contains=expected):
        rule_runner.request(DeploymentSetup, [DeploymentSetupRequest(field_set(rule_runner, name))])


def test_stack_set_and_account_settings_reach_the_plan(rule_runner) -> None:
    def plan(address: Address) -> dict:
        fs = DeploymentFieldSet.create(rule_runner.get_target(address))
        setup = rule_runner.request(DeploymentSetup, [DeploymentSetupRequest(fs)])
        files = {fc.path: fc.content for fc in rule_runner.request(DigestContents, [setup.digest])}
        return json.loads(files[setup.plan_path])

    fleet = plan(Address("apps/q", target_name="fleet"))
    assert fleet["stack_set"] == {
        "accounts": ["111111111111", "222222222222"],
        "regions": ["eu-west-1"],
        "max_concurrent_percentage": 25,
        "failure_tolerance_percentage": 0,
    }
    copy = plan(Address("apps/q", target_name="copies", parameters={"account": "222222222222"}))
    assert copy["account"] == "222222222222"
    assert copy["assume_role"] == "arn:aws:iam::{account}:role/jiti-deploy"
    assert copy["name"] == "copies-account-222222222222"  # its own outputs file
