"""Field defaults and validation of jiti's target types."""

from __future__ import annotations

import pytest
from pants.engine.addresses import Address
from pants.engine.internals.scheduler import ExecutionError
from pants.testutil.rule_runner import RuleRunner

from jiti.target_types import (
    CloudFormationDeploymentTarget,
    CloudFormationStackNameField,
    CloudFormationStackTarget,
)


@pytest.fixture
def rule_runner() -> RuleRunner:
    return RuleRunner(target_types=[CloudFormationStackTarget, CloudFormationDeploymentTarget])


@pytest.mark.parametrize(
    "path, name, expected",
    [
        ("apps/greeter", "stack", "greeter"),
        ("apps/greeter", "greeter", "greeter"),
        ("apps/greeter", "edge", "greeter-edge"),
        ("apps/my_app", "stack", "my-app"),
    ],
)
def test_stack_name_defaults_from_the_address(rule_runner, path, name, expected) -> None:
    rule_runner.write_files(
        {
            f"{path}/BUILD": f'cloudformation_stack(name="{name}", source="t.json")',
            f"{path}/t.json": "{}",
        }
    )
    tgt = rule_runner.get_target(Address(path, target_name=name))
    assert tgt[CloudFormationStackNameField].value_or_default() == expected


@pytest.mark.parametrize(
    "build, message",
    [
        (
            'cloudformation_stack(name="s", source="t.json", stack_name="1bad_name")',
            "a stack name has letters",
        ),
        (
            'cloudformation_deployment(name="d", stack=":s", environment="Prod")',
            "use lowercase letters",
        ),
    ],
)
def test_invalid_fields_are_reported_with_target_and_field(rule_runner, build, message) -> None:
    rule_runner.write_files({"x/BUILD": build, "x/t.json": "{}"})
    with pytest.raises(ExecutionError) as error:
        rule_runner.get_target(Address("x", target_name=build.split('name="')[1].split('"')[0]))
    assert message in str(error.value)
