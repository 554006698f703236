"""A deployment's plan: its settings, exactly as the deploy runtime reads them, and the mistakes
only the rules can see."""

from __future__ import annotations

import json
from textwrap import dedent

import pytest
from pants.engine.addresses import Address
from pants.engine.fs import DigestContents
from pants.testutil.rule_runner import QueryRule, engine_error

from jiti.errors import JitiError
from jiti.testutil import make_rule_runner, set_options
from jiti.util_rules.deployment import DeploymentFieldSet, DeploymentSetup, DeploymentSetupRequest
from jiti_contract import (
    Consumer,
    Input,
    Plan,
    StackPlace,
    StackSetSettings,
    default_stack_policy,
    from_json,
)

ALLOW_ALL = {
    "Statement": [{"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"}]
}


@pytest.fixture(scope="module")
def rule_runner():
    runner = make_rule_runner(QueryRule(DeploymentSetup, [DeploymentSetupRequest]))
    runner.write_files(
        {
            "apps/q/BUILD": dedent(
                """\
                python_sources(name="src")
                cloudformation_stack(name="stack", source="t.json", app="queue-app")
                cloudformation_deployment(name="deploy", stack=":stack", environment="prod",
                    parameters={"Size": "3"}, stack_tags={"team": "a"})
                cloudformation_deployment(name="after", stack=":stack", stack_name="{app}-after",
                    dependencies=[":deploy"])
                cloudformation_deployment(name="notastack", stack=":src")
                cloudformation_deployment(name="badname", stack=":stack", stack_name="{app}_{env}")
                cloudformation_deployment(name="newline", stack=":stack", stack_name="{app}-{env}\\n")
                cloudformation_deployment(name="fleet", stack=":stack",
                    stack_set_accounts=["222222222222", "111111111111"], stack_set_regions=["eu-west-1"])
                cloudformation_deployment(name="copies", stack=":stack",
                    account=parametrize("111111111111", "222222222222"))
                """
            ),
            "apps/q/t.json": json.dumps(
                {
                    "Parameters": {"Size": {"Type": "Number", "Default": 1}},
                    "Resources": {"Q": {"Type": "AWS::SQS::Queue"}},
                }
            ),
            "apps/q/lib.py": "X = 1\n",
            "apps/p/BUILD": dedent(
                """\
                cloudformation_stack(name="stack", source="t.json")
                cloudformation_deployment(name="ok", stack=":stack", stack_name="p-ok", parameters={"Size": "small", "Name": "a-{region}"})
                cloudformation_deployment(name="unknown", stack=":stack", stack_name="p-unknown", parameters={"Size": "small", "Nope": "1"})
                cloudformation_deployment(name="missing", stack=":stack", stack_name="p-missing")
                cloudformation_deployment(name="notallowed", stack=":stack", stack_name="p-notallowed", parameters={"Size": "huge"})
                cloudformation_deployment(name="pattern", stack=":stack", stack_name="p-pattern", parameters={"Size": "small", "Name": "Has Spaces"})
                cloudformation_deployment(name="twin-a", stack=":stack", stack_name="shared", region="eu-west-1", parameters={"Size": "small"})
                cloudformation_deployment(name="twin-b", stack=":stack", stack_name="shared", region="eu-west-1", parameters={"Size": "small"})
                cloudformation_deployment(name="elsewhere", stack=":stack", stack_name="shared", region="us-east-1", parameters={"Size": "small"})
                """
            ),
            "apps/d/BUILD": dedent(
                f"""\
                cloudformation_stack(name="stack", source="t.json")
                file(name="policy", source="policy.json")
                cloudformation_deployment(name="guarded", stack=":stack")
                cloudformation_deployment(name="custom", stack=":stack", stack_name="d-custom",
                    stack_policy={ALLOW_ALL!r})
                cloudformation_deployment(name="fromfile", stack=":stack", stack_name="d-file",
                    stack_policy="policy.json")
                cloudformation_deployment(name="unowned", stack=":stack", stack_name="d-unowned",
                    stack_policy="unowned.json")
                cloudformation_deployment(name="debug", stack=":stack", stack_name="d-debug",
                    rollback_alarms=["errors"], rollback_monitoring_minutes=5,
                    notification_arns=["arn:aws:sns:us-east-1:111111111111:deploys"],
                    disable_rollback=True)
                cloudformation_deployment(name="prod-debug", stack=":stack", stack_name="d-prod",
                    environment="prod", disable_rollback=True)
                """
            ),
            "apps/d/t.json": json.dumps(
                {
                    "Resources": {
                        "Table": {
                            "Type": "AWS::DynamoDB::Table",
                            "DeletionPolicy": "Retain",
                            "Properties": {
                                "BillingMode": "PAY_PER_REQUEST",
                                "AttributeDefinitions": [
                                    {"AttributeName": "id", "AttributeType": "S"}
                                ],
                                "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                            },
                        },
                        "Q": {"Type": "AWS::SQS::Queue"},
                    }
                }
            ),
            "apps/d/policy.json": json.dumps(
                {
                    "Statement": [
                        {"Effect": "Deny", "Action": "Update:*", "Principal": "*", "Resource": "*"}
                    ]
                }
            ),
            "apps/d/unowned.json": json.dumps(ALLOW_ALL),
            "apps/share/BUILD": dedent(
                """\
                cloudformation_stack(name="producer", source="producer.json", app="producer")
                cloudformation_stack(name="consumer", source="consumer.json", app="consumer")
                cloudformation_deployment(name="orders", stack=":producer", environment="prod",
                    account=parametrize("111111111111", "222222222222"), region="eu-west-1",
                    assume_role="arn:aws:iam::{account}:role/deployer")
                cloudformation_deployment(name="reports", stack=":consumer", environment="prod",
                    account=parametrize("111111111111", "222222222222"), region="eu-west-1",
                    inputs={"TableArn": ":orders.TableArn", "Limit": "ssm:/shop/{env}/limit"})
                cloudformation_deployment(name="audit", stack=":consumer", stack_name="audit",
                    inputs={"TableArn": ":orders@account=111111111111.TableName",
                            "Limit": "ssm:/x"})
                cloudformation_deployment(name="nooutput", stack=":consumer", stack_name="n",
                    inputs={"TableArn": ":orders@account=111111111111.Gone", "Limit": "ssm:/x"})
                cloudformation_deployment(name="undeclared", stack=":consumer", stack_name="u",
                    inputs={"TableArn": ":orders@account=111111111111.TableArn",
                            "Limit": "ssm:/x", "Extra": "ssm:/y"})
                cloudformation_deployment(name="unset", stack=":consumer", stack_name="un",
                    inputs={"TableArn": ":orders@account=111111111111.TableArn"})
                cloudformation_stack(name="vault", source="vault.json", app="vault")
                cloudformation_deployment(name="keeper", stack=":vault", stack_name="keeper",
                    inputs={"Token": ":orders@account=111111111111.TableName",
                            "Arn": ":orders@account=111111111111.TableArn"})
                """
            ),
            "apps/share/producer.json": json.dumps(
                {
                    "Resources": {"Q": {"Type": "AWS::SQS::Queue"}},
                    "Outputs": {
                        "TableArn": {"Value": {"Fn::GetAtt": ["Q", "Arn"]}},
                        "TableName": {"Value": {"Ref": "Q"}},
                    },
                }
            ),
            "apps/share/consumer.json": json.dumps(
                {
                    "Parameters": {
                        "TableArn": {"Type": "String"},
                        "Limit": {"Type": "Number"},
                    },
                    "Resources": {"Q": {"Type": "AWS::SQS::Queue"}},
                }
            ),
            "apps/share/vault.json": json.dumps(
                {
                    "Parameters": {
                        "Token": {"Type": "String", "NoEcho": "true"},
                        "Arn": {"Type": "String"},
                    },
                    "Resources": {"Q": {"Type": "AWS::SQS::Queue"}},
                }
            ),
            "apps/p/t.json": json.dumps(
                {
                    "Parameters": {
                        "Size": {"Type": "String", "AllowedValues": ["small", "large"]},
                        "Name": {
                            "Type": "String",
                            "Default": "x",
                            "AllowedPattern": "[a-z0-9-]+",
                            "MaxLength": 20,
                        },
                        "Environment": {"Type": "String"},
                    },
                    "Resources": {"Q": {"Type": "AWS::SQS::Queue"}},
                }
            ),
        }
    )
    set_options(runner, "--jiti-repository=shop")
    return runner


def setup_of(rule_runner, name: str, app: str = "q", **parameters: str) -> DeploymentSetup:
    tgt = rule_runner.get_target(Address(f"apps/{app}", target_name=name, parameters=parameters))
    return rule_runner.request(
        DeploymentSetup, [DeploymentSetupRequest(DeploymentFieldSet.create(tgt))]
    )


def plan(rule_runner, name: str, app: str = "q", **parameters: str) -> Plan:
    s = setup_of(rule_runner, name, app, **parameters)
    files = {fc.path: fc.content for fc in rule_runner.request(DigestContents, [s.digest])}
    assert s.plan_path in files
    return from_json(Plan, files[s.plan_path].decode())


def test_plan_carries_the_deployment_settings(rule_runner) -> None:
    s = setup_of(rule_runner, "deploy")
    assert s.plan_path == "jiti-plans/apps.q.deploy.json"
    files = {fc.path for fc in rule_runner.request(DigestContents, [s.digest])}
    assert {"apps.q/stack.template.json", "apps.q/stack.manifest.json"} <= files
    assert plan(rule_runner, "deploy") == Plan(
        address="apps/q:deploy",
        name="deploy",
        app="queue-app",
        stack_name="queue-app-prod",
        environment="prod",
        manifest="apps.q/stack.manifest.json",
        assume_role="arn:{partition}:iam::{account}:role/jiti-deploy",
        parameters={"Size": "3"},
        tags={"team": "a"},
        capabilities=("CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"),
        repository="shop",
    )


def test_deployments_named_in_dependencies_go_first(rule_runner) -> None:
    after = plan(rule_runner, "after")
    assert after.depends_on == ("apps/q:deploy",) and after.stack_name == "queue-app-after"


def test_stack_set_and_account_settings_reach_the_plan(rule_runner) -> None:
    assert plan(rule_runner, "fleet").stack_set == StackSetSettings(
        accounts=("111111111111", "222222222222"),
        regions=("eu-west-1",),
        max_concurrent_percentage=25,
        failure_tolerance_percentage=0,
    )
    copy = plan(rule_runner, "copies", account="222222222222")
    assert copy.account == "222222222222"
    assert copy.name == "copies-account-222222222222"  # its own outputs file


@pytest.mark.parametrize(
    "name, expected",
    [
        (
            "notastack",
            "apps/q:notastack: field `stack`: apps/q:src is a `python_sources`, not a `cloudformation_stack`",
        ),
        (
            "badname",
            "apps/q:badname: field `stack_name`: 'queue-app_dev' is not a valid stack name",
        ),
        (  # the whole name must match: a trailing newline is not a valid end
            "newline",
            "apps/q:newline: field `stack_name`: 'queue-app-dev\\n' is not a valid stack name",
        ),
    ],
)
def test_deployment_mistakes_name_the_field(rule_runner, name: str, expected: str) -> None:
    with engine_error(JitiError, contains=expected):
        setup_of(rule_runner, name)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("unknown", "apps/p:unknown: field `parameters`: Nope not declared by the template"),
        (
            "missing",
            "apps/p:missing: field `parameters`: Size required by the template (no default) but not set",
        ),
        (
            "notallowed",
            "apps/p:notallowed: field `parameters`: Size='huge': not one of the AllowedValues small, large",
        ),
        (
            "pattern",
            "apps/p:pattern: field `parameters`: Name='Has Spaces': does not match the AllowedPattern [a-z0-9-]+",
        ),
        (
            "twin-a",
            "apps/p:twin-a: field `stack_name`: the stack 'shared' in eu-west-1 is deployed by apps/p:twin-a, apps/p:twin-b",
        ),
    ],
)
def test_mistakes_are_caught_when_the_plan_is_made(rule_runner, name: str, expected: str) -> None:
    """Before the deploy runtime runs: nothing is uploaded, no change set is made."""
    with engine_error(JitiError, contains=expected):
        setup_of(rule_runner, name, app="p")


def test_a_placeholder_value_is_checked_once_filled_and_a_stack_name_elsewhere_is_fine(rule_runner):
    setup_of(rule_runner, "ok", app="p")
    setup_of(rule_runner, "elsewhere", app="p")


def test_a_stack_holding_data_gets_the_default_stack_policy_unless_the_field_gives_one(
    rule_runner,
) -> None:
    assert plan(rule_runner, "guarded", "d").stack_policy == default_stack_policy(("Table",))
    assert plan(rule_runner, "custom", "d").stack_policy == ALLOW_ALL
    assert plan(rule_runner, "fromfile", "d").stack_policy["Statement"][0]["Effect"] == "Deny"
    assert plan(rule_runner, "deploy").stack_policy is None  # a queue holds no data to guard


def test_a_stack_policy_file_must_be_owned_so_that_changing_it_redeploys(rule_runner) -> None:
    with engine_error(
        JitiError,
        contains="apps/d:unowned: field `stack_policy`: apps/d/unowned.json is not owned by a target",
    ):
        setup_of(rule_runner, "unowned", app="d")


def test_rollback_settings_reach_the_plan_and_disable_rollback_is_refused_in_prod(
    rule_runner,
) -> None:
    debug = plan(rule_runner, "debug", "d")
    assert debug.rollback_alarms == ("errors",) and debug.rollback_monitoring_minutes == 5
    assert debug.notification_arns == ("arn:aws:sns:us-east-1:111111111111:deploys",)
    assert debug.disable_rollback is True
    with engine_error(
        JitiError,
        contains="apps/d:prod-debug: field `disable_rollback`: not allowed in the 'prod' environment",
    ):
        setup_of(rule_runner, "prod-debug", app="d")


ROLE = "arn:aws:iam::{account}:role/deployer"


def test_a_consumer_plan_says_where_each_input_comes_from_and_its_producer_goes_first(
    rule_runner,
) -> None:
    reports = plan(rule_runner, "reports", "share", account="222222222222")
    producer = "apps/share:orders@account=222222222222"
    assert reports.inputs == (
        Input("Limit", ssm_parameter="/shop/{env}/limit"),
        Input(
            "TableArn",
            producer=StackPlace(producer, "producer-prod", "222222222222", "eu-west-1", ROLE),
            output="TableArn",
        ),
    )
    assert reports.depends_on == (producer,)


def test_a_producer_plan_names_the_consumers_of_each_copy_and_the_outputs_they_take(
    rule_runner,
) -> None:
    def consumer(name: str, account: str | None = None, stack: str = "") -> StackPlace:
        if account is None:
            return StackPlace(f"apps/share:{name}", stack, assume_role=DEFAULT_ROLE)
        return StackPlace(
            f"apps/share:{name}@account={account}",
            "consumer-prod",
            account,
            "eu-west-1",
            DEFAULT_ROLE,
        )

    first = plan(rule_runner, "orders", "share", account="111111111111")
    assert first.consumers == (
        Consumer(consumer("audit", stack="audit"), ("TableName",)),
        # takes TableName as a NoEcho parameter: the producer's deploy never shows it
        Consumer(consumer("keeper", stack="keeper"), ("TableArn", "TableName"), ("TableName",)),
        Consumer(consumer("nooutput", stack="n"), ("Gone",)),  # as its BUILD file says
        Consumer(consumer("reports", "111111111111"), ("TableArn",)),
        Consumer(consumer("undeclared", stack="u"), ("TableArn",)),
        Consumer(consumer("unset", stack="un"), ("TableArn",)),
    )
    second = plan(rule_runner, "orders", "share", account="222222222222")
    assert second.consumers == (Consumer(consumer("reports", "222222222222"), ("TableArn",)),)


DEFAULT_ROLE = "arn:{partition}:iam::{account}:role/jiti-deploy"


@pytest.mark.parametrize(
    "name, expected",
    [
        (
            "nooutput",
            "apps/share:nooutput: field `inputs`: TableArn: apps/share:orders@account=111111111111 "
            "has no output Gone (the template of apps/share:producer declares: TableArn, TableName)",
        ),
        (
            "undeclared",
            "apps/share:undeclared: field `inputs`: Extra not declared by the template (it "
            "declares: Limit, TableArn); declare each in infra.py with `app.input(name)`",
        ),
        (
            "unset",
            "apps/share:unset: field `parameters`: Limit required by the template (no default) "
            "but not set",
        ),
    ],
)
def test_input_mistakes_are_caught_when_the_plan_is_made(rule_runner, name, expected) -> None:
    with engine_error(JitiError, contains=expected):
        setup_of(rule_runner, name, app="share")
