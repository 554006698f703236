"""Inferred dependencies: what `--changed-since` follows from a stack and a deployment."""

from __future__ import annotations

from textwrap import dedent

import pytest
from pants.engine.addresses import Address
from pants.engine.target import InferredDependencies
from pants.testutil.rule_runner import QueryRule

from jiti.dependency_inference import (
    DeploymentDependenciesInferenceFieldSet,
    InferDeploymentDependencies,
    InferStackDependencies,
    StackDependenciesInferenceFieldSet,
)
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
