"""Field defaults and validation of jiti's target types: every mistake is caught when the BUILD
file is read, naming the target and the field."""

from __future__ import annotations

import pytest
from pants.engine.addresses import Address
from pants.engine.internals.parametrize import Parametrize
from pants.engine.internals.scheduler import ExecutionError
from pants.help.help_info_extracter import TargetFieldHelpInfo
from pants.testutil.rule_runner import RuleRunner

from jiti.target_types import (
    CloudFormationDeploymentTarget,
    CloudFormationStackTarget,
    DeploymentInputsField,
    OutputReference,
    SsmReference,
    StackAppField,
)


@pytest.fixture
def rule_runner() -> RuleRunner:
    return RuleRunner(
        target_types=[CloudFormationStackTarget, CloudFormationDeploymentTarget],
        objects={"parametrize": Parametrize},
    )


@pytest.mark.parametrize(
    "path, name, expected",
    [
        ("apps/greeter", "stack", "greeter"),
        ("apps/greeter", "greeter", "greeter"),
        ("apps/greeter", "edge", "greeter-edge"),
        ("apps/my_app", "stack", "my-app"),
    ],
)
def test_app_name_defaults_from_the_address(rule_runner, path, name, expected) -> None:
    rule_runner.write_files(
        {
            f"{path}/BUILD": f'cloudformation_stack(name="{name}", source="t.json")',
            f"{path}/t.json": "{}",
        }
    )
    tgt = rule_runner.get_target(Address(path, target_name=name))
    assert tgt[StackAppField].value_or_default() == expected


def test_stack_name_is_still_accepted_for_the_app_name(rule_runner) -> None:
    rule_runner.write_files(
        {"x/BUILD": 'cloudformation_stack(name="s", source="t.json", stack_name="old")'}
    )
    assert rule_runner.get_target(Address("x", target_name="s"))[StackAppField].value == "old"


@pytest.mark.parametrize(
    "build, message",
    [
        (
            'cloudformation_stack(name="s", source="t.json", app="1bad_name")',
            "The `app` field of x:s is '1bad_name': an app name has letters",
        ),
        (
            'cloudformation_deployment(name="s", stack=":s", environment="Prod")',
            "use lowercase letters",
        ),
        # A trailing newline is not a valid end: every pattern must match the whole value.
        (
            'cloudformation_stack(name="s", source="t.json", app="shop\\n")',
            "The `app` field of x:s is 'shop\\n': an app name has letters",
        ),
        (
            'cloudformation_deployment(name="s", stack=":s", environment="prod\\n")',
            "The `environment` field of x:s is 'prod\\n': use lowercase letters",
        ),
        (
            'cloudformation_deployment(name="s", stack=":s", account="123456789012\\n")',
            "The `account` field of x:s is '123456789012\\n': an AWS account id has 12 digits",
        ),
        (
            'cloudformation_deployment(name="s", stack=":s", stack_set_accounts=["123456789012\\n"],'
            ' stack_set_regions=["eu-west-1"])',
            "The `stack_set_accounts` field of x:s has '123456789012\\n': an AWS account id",
        ),
        (
            'cloudformation_deployment(name="s", stack=":s", '
            'notification_arns=["arn:aws:sns:us-east-1:111111111111:t\\n"])',
            "The `notification_arns` field of x:s has 'arn:aws:sns:us-east-1:111111111111:t\\n'",
        ),
        (
            'cloudformation_deployment(name="s", stack=":s", inputs={"Arn": ":o.TableArn\\n"})',
            "The `inputs` field of x:s: Arn: ':o.TableArn\\n' is neither",
        ),
        (
            'cloudformation_deployment(name="s", stack=":s", stack_name="{app}-{region}")',
            "The `stack_name` field of x:s: '{app}-{region}' uses {region}; only {app}, {env} may be used",
        ),
        (
            'cloudformation_deployment(name="s", stack=":s", parameters={"P": "{acount}"})',
            "The `parameters` value `P` field of x:s: '{acount}' uses {acount}; only {account}, {region}, {env}",
        ),
        (
            'cloudformation_deployment(name="s", stack=":s", assume_role="arn:aws:iam::{region}:role/r")',
            "uses {region}; only {account}, {partition} may be used",
        ),
        (
            'cloudformation_deployment(name="s", stack=":s", account="1234")',
            "an AWS account id has 12 digits",
        ),
        (
            'cloudformation_deployment(name="s", stack=":s", stack_set_accounts=["12345"], stack_set_regions=["eu-west-1"])',
            "The `stack_set_accounts` field of x:s has '12345': an AWS account id has 12 digits",
        ),
        (
            'cloudformation_deployment(name="s", stack=":s", stack_set_accounts=["111111111111"])',
            "x:s: fields `stack_set_accounts` and `stack_set_regions`: StackSets mode needs both",
        ),
        (
            'cloudformation_deployment(name="s", stack=":s", account="222222222222", '
            'stack_set_accounts=["111111111111"], stack_set_regions=["eu-west-1"])',
            "x:s: field `account`: a StackSet is deployed from the current account",
        ),
        (
            'cloudformation_deployment(name="s", stack=":s", stack_set_failure_tolerance_percentage=101)',
            "The `stack_set_failure_tolerance_percentage` field of x:s is 101: a percentage from 0 to 100",
        ),
        (
            'cloudformation_deployment(name="s", stack=":s", stack_set_max_concurrent_percentage=0)',
            "is 0: at least one account must deploy at a time",
        ),
        (
            'cloudformation_deployment(name="s", stack=":s", stack_policy="policy.txt")',
            "The `stack_policy` field of x:s is 'policy.txt': give a policy document (a dict) "
            "or the path of a `.json` file",
        ),
        (
            'cloudformation_deployment(name="s", stack=":s", stack_policy={"Effect": "Deny"})',
            "The `stack_policy` field of x:s must be a policy document with a `Statement`",
        ),
        (
            'cloudformation_deployment(name="s", stack=":s", rollback_monitoring_minutes=181)',
            "The `rollback_monitoring_minutes` field of x:s is 181: from 0 to 180 minutes",
        ),
        (
            'cloudformation_deployment(name="s", stack=":s", rollback_alarms=["a", "b", "c", "d", "e", "f"])',
            "The `rollback_alarms` field of x:s has 6 alarms: CloudFormation takes at most 5",
        ),
        (
            'cloudformation_deployment(name="s", stack=":s", rollback_alarms=["arn:aws:sns:us-east-1:111111111111:t"])',
            "a rollback trigger is a CloudWatch alarm",
        ),
        (
            'cloudformation_deployment(name="s", stack=":s", notification_arns=["deploys"])',
            "The `notification_arns` field of x:s has 'deploys': an SNS topic ARN looks like",
        ),
        (
            'cloudformation_deployment(name="s", stack=":s", disable_rollback=True, '
            'stack_set_accounts=["111111111111"], stack_set_regions=["eu-west-1"])',
            "x:s: field `disable_rollback`: not supported in StackSets mode",
        ),
        (
            'cloudformation_deployment(name="s", stack=":s", inputs={"Arn": "apps/orders:deploy"})',
            "The `inputs` field of x:s: Arn: 'apps/orders:deploy' is neither "
            "`<deployment address>.<OutputName>`",
        ),
        (
            'cloudformation_deployment(name="s", stack=":s", inputs={"Arn": "apps/orders:deploy.Table-Arn"})',
            "The `inputs` field of x:s: Arn: 'apps/orders:deploy.Table-Arn' is neither",
        ),
        (
            'cloudformation_deployment(name="s", stack=":s", inputs={"Arn": "apps/orders:a:b.TableArn"})',
            "The `inputs` field of x:s: Arn: ",
        ),
        (
            'cloudformation_deployment(name="s", stack=":s", inputs={"Limit": "ssm:"})',
            "The `inputs` field of x:s: Limit: 'ssm:' names no SSM parameter",
        ),
        (
            'cloudformation_deployment(name="s", stack=":s", inputs={"Limit": "ssm:/shop/{app}/limit"})',
            "The `inputs` field of x:s: Limit: '/shop/{app}/limit' uses {app}; only {account}, {region}, {env}",
        ),
        (
            'cloudformation_deployment(name="s", stack=":s", parameters={"Arn": "x"},'
            ' inputs={"Arn": "apps/orders:deploy.TableArn"})',
            "x:s: field `inputs`: Arn also set in `parameters`; set each parameter in one of them",
        ),
        (
            'cloudformation_deployment(name="s", stack=":s", inputs={"Arn": ":o.TableArn"},'
            ' stack_set_accounts=["111111111111"], stack_set_regions=["eu-west-1"])',
            "x:s: field `inputs`: a StackSet's instances share their parameter values",
        ),
    ],
)
def test_invalid_fields_are_reported_with_target_and_field(rule_runner, build, message) -> None:
    rule_runner.write_files({"x/BUILD": build, "x/t.json": "{}"})
    with pytest.raises(ExecutionError) as error:
        rule_runner.get_target(Address("x", target_name="s"))
    assert message in str(error.value)


def test_placeholders_that_are_allowed_pass(rule_runner) -> None:
    rule_runner.write_files(
        {
            "x/BUILD": 'cloudformation_deployment(name="s", stack=":s", stack_name="{app}-{env}-x",'
            ' parameters={"Prefix": "shop-{account}-{region}-{env}"})'
        }
    )
    rule_runner.get_target(Address("x", target_name="s"))


@pytest.mark.parametrize("target", [CloudFormationStackTarget, CloudFormationDeploymentTarget])
def test_pants_help_describes_every_field(target) -> None:
    """`pants help <target>` reads each field's type from its `compute_value` and its help."""
    for field in target.core_fields:
        info = TargetFieldHelpInfo.create(field, provider="jiti")
        assert info.description, f"{target.alias}.{field.alias} has no help"


def test_guards_of_the_data_are_read_from_the_build_file(rule_runner) -> None:
    from jiti.target_types import (
        DeploymentNotificationArnsField,
        DeploymentRollbackAlarmsField,
        DeploymentStackPolicyField,
    )

    rule_runner.write_files(
        {
            "x/BUILD": 'cloudformation_deployment(name="s", stack=":s", '
            'stack_policy={"Statement": [{"Effect": "Allow", "Action": "Update:*"}]}, '
            'rollback_alarms=["errors"], '
            'notification_arns=["arn:aws:sns:eu-west-1:111111111111:deploys"])\n'
            'cloudformation_deployment(name="f", stack=":s", stack_policy="policies/p.json")\n'
        }
    )
    tgt = rule_runner.get_target(Address("x", target_name="s"))
    assert tgt[DeploymentStackPolicyField].value["Statement"][0]["Action"] == "Update:*"
    assert tgt[DeploymentStackPolicyField].file_path is None
    assert tgt[DeploymentRollbackAlarmsField].value == ("errors",)
    assert tgt[DeploymentNotificationArnsField].value == (
        "arn:aws:sns:eu-west-1:111111111111:deploys",
    )
    from_file = rule_runner.get_target(Address("x", target_name="f"))
    assert from_file[DeploymentStackPolicyField].file_path == "x/policies/p.json"


def test_inputs_name_outputs_and_ssm_parameters(rule_runner) -> None:
    rule_runner.write_files(
        {
            "x/BUILD": 'cloudformation_deployment(name="s", stack=":s", inputs={'
            '"Arn": "apps/orders:prod@region=us-east-1.TableArn", "Here": ":other.Url", '
            '"Limit": "ssm:/shop/{env}/limit"})'
        }
    )
    tgt = rule_runner.get_target(Address("x", target_name="s"))
    assert tgt[DeploymentInputsField].references() == (
        ("Arn", OutputReference("apps/orders:prod@region=us-east-1", "TableArn")),
        ("Here", OutputReference(":other", "Url")),
        ("Limit", SsmReference("/shop/{env}/limit")),
    )
