"""Inferred dependencies: what `--changed-since` follows from a stack and a deployment."""

from __future__ import annotations

from textwrap import dedent

import pytest
from pants.engine.addresses import Address
from pants.engine.target import InferredDependencies
from pants.testutil.rule_runner import QueryRule, engine_error

from jiti.dependency_inference import (
    DeploymentDependenciesInferenceFieldSet,
    InferDeploymentDependencies,
    InferStackDependencies,
    StackDependenciesInferenceFieldSet,
)
from jiti.errors import JitiError
from jiti.testutil import make_rule_runner


# One repository for the module: a new RuleRunner builds its environments again.
@pytest.fixture(scope="module")
def rule_runner():
    runner = make_rule_runner(
        QueryRule(InferredDependencies, [InferStackDependencies]),
        QueryRule(InferredDependencies, [InferDeploymentDependencies]),
    )
    runner.write_files(
        {
            "apps/a/BUILD": dedent(
                """\
                python_sources()
                cloudformation_stack(name="stack", source="infra.py")
                cloudformation_stack(name="plain", source="t.json", app="a-plain")
                cloudformation_deployment(name="deploy", stack=":stack")
                file(name="policy", source="policy.json")
                cloudformation_deployment(name="guarded", stack=":stack", stack_name="a-guarded",
                    stack_policy="policy.json")
                """
            ),
            "apps/p/BUILD": dedent(
                """\
                cloudformation_stack(name="stack", source="t.json")
                cloudformation_deployment(name="deploy", stack=":stack")
                cloudformation_deployment(name="prod", stack=":stack",
                    account=parametrize("111111111111", "222222222222"),
                    region=parametrize("us-east-1", "eu-west-1"))
                """
            ),
            "apps/p/t.json": "{}",
            "apps/c/BUILD": dedent(
                """\
                cloudformation_stack(name="stack", source="t.json")
                cloudformation_deployment(name="deploy", stack=":stack",
                    inputs={"Arn": "apps/p:deploy.Arn", "Limit": "ssm:/shop/limit"})
                cloudformation_deployment(name="prod", stack=":stack",
                    account=parametrize("111111111111", "222222222222"),
                    region=parametrize("us-east-1", "eu-west-1"),
                    inputs={"Arn": "apps/p:prod.Arn"})
                cloudformation_deployment(name="pinned", stack=":stack", region="eu-west-1",
                    inputs={"Arn": "apps/p:prod@account=111111111111,region=us-east-1.Arn"})
                cloudformation_deployment(name="half", stack=":stack", region="eu-west-1",
                    account=parametrize("111111111111", "222222222222"),
                    inputs={"Arn": "apps/p:prod@region=us-east-1.Arn"})
                cloudformation_deployment(name="elsewhere", stack=":stack",
                    account="111111111111", region="ap-south-1", inputs={"Arn": "apps/p:prod.Arn"})
                cloudformation_deployment(name="notadeployment", stack=":stack",
                    inputs={"Arn": "apps/p:stack.Arn"})
                """
            ),
            "apps/c/t.json": "{}",
            "apps/a/infra.py": "from apps.a import lib\n",
            "apps/a/lib.py": "X = 1\n",
            "apps/a/t.json": "{}",
            "apps/a/policy.json": '{"Statement": []}',
        }
    )
    return runner


def inferred_for_stack(rule_runner, name: str) -> set[Address]:
    tgt = rule_runner.get_target(Address("apps/a", target_name=name))
    request = InferStackDependencies(StackDependenciesInferenceFieldSet.create(tgt))
    return set(rule_runner.request(InferredDependencies, [request]).include)


SYNTH_MAIN = Address("infra-lib/jiti_infra", relative_file_path="synth_main.py")


def test_a_troposphere_stack_depends_on_its_module_and_the_synthesis_main(rule_runner) -> None:
    assert inferred_for_stack(rule_runner, "stack") == {
        Address("apps/a", relative_file_path="infra.py"),
        SYNTH_MAIN,
    }


def test_a_plain_template_stack_depends_on_the_synthesis_main_only(rule_runner) -> None:
    assert inferred_for_stack(rule_runner, "plain") == {SYNTH_MAIN}


def test_a_deployment_depends_on_its_stack_and_the_deploy_runtime(rule_runner) -> None:
    tgt = rule_runner.get_target(Address("apps/a", target_name="deploy"))
    request = InferDeploymentDependencies(DeploymentDependenciesInferenceFieldSet.create(tgt))
    assert set(rule_runner.request(InferredDependencies, [request]).include) == {
        Address("apps/a", target_name="stack"),
        Address("infra-lib/jiti_deploy", relative_file_path="__main__.py"),
    }


def test_a_deployment_depends_on_the_owner_of_its_stack_policy_file(rule_runner) -> None:
    tgt = rule_runner.get_target(Address("apps/a", target_name="guarded"))
    request = InferDeploymentDependencies(DeploymentDependenciesInferenceFieldSet.create(tgt))
    assert Address("apps/a", target_name="policy") in set(
        rule_runner.request(InferredDependencies, [request]).include
    )


RUNTIME = Address("infra-lib/jiti_deploy", relative_file_path="__main__.py")


def inferred_for_deployment(rule_runner, path: str, name: str, **parameters) -> set[Address]:
    tgt = rule_runner.get_target(Address(path, target_name=name, parameters=parameters))
    request = InferDeploymentDependencies(DeploymentDependenciesInferenceFieldSet.create(tgt))
    return set(rule_runner.request(InferredDependencies, [request]).include)


def test_the_deployments_whose_outputs_a_deployment_takes_are_dependencies(rule_runner) -> None:
    assert inferred_for_deployment(rule_runner, "apps/c", "deploy") == {
        Address("apps/c", target_name="stack"),
        RUNTIME,
        Address("apps/p", target_name="deploy"),
    }


@pytest.mark.parametrize("account", ["111111111111", "222222222222"])
@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_a_parametrized_copy_depends_on_the_producer_copy_in_its_account_and_region(
    rule_runner, account: str, region: str
) -> None:
    inferred = inferred_for_deployment(
        rule_runner, "apps/c", "prod", account=account, region=region
    )
    producers = {a for a in inferred if a.spec_path == "apps/p"}
    assert producers == {
        Address("apps/p", target_name="prod", parameters={"account": account, "region": region})
    }


def test_a_named_copy_is_taken_and_parameters_left_out_match_the_consumer(rule_runner) -> None:
    pinned = inferred_for_deployment(rule_runner, "apps/c", "pinned")
    assert (
        Address(
            "apps/p",
            target_name="prod",
            parameters={"account": "111111111111", "region": "us-east-1"},
        )
        in pinned
    )
    half = inferred_for_deployment(rule_runner, "apps/c", "half", account="222222222222")
    assert (
        Address(
            "apps/p",
            target_name="prod",
            parameters={"account": "222222222222", "region": "us-east-1"},
        )
        in half
    )


@pytest.mark.parametrize(
    "name, expected",
    [
        (
            "elsewhere",
            "apps/c:elsewhere: field `inputs`: Arn: no copy of apps/p:prod has this deployment's "
            "account=111111111111, region=ap-south-1; name one: "
            "apps/p:prod@account=111111111111,region=eu-west-1",
        ),
        (
            "notadeployment",
            "apps/c:notadeployment: field `inputs`: Arn: apps/p:stack is a `cloudformation_stack`, "
            "not a `cloudformation_deployment`",
        ),
    ],
)
def test_an_input_that_names_no_deployment_is_one_clear_error(rule_runner, name, expected) -> None:
    with engine_error(JitiError, contains=expected):
        inferred_for_deployment(rule_runner, "apps/c", name)
