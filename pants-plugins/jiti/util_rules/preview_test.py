"""A preview's copy of a deployment: named and placed for the preview, reading the copies of
its producers that the preview deploys and the base environment's stacks otherwise."""

from __future__ import annotations

import json
from textwrap import dedent
from types import SimpleNamespace

import pytest
from pants.engine.addresses import Address
from pants.engine.fs import DigestContents
from pants.testutil.rule_runner import QueryRule

from jiti.errors import JitiError
from jiti.testutil import make_rule_runner, set_options
from jiti.util_rules.deployment import DeploymentFieldSet, DeploymentSetup, DeploymentSetupRequest
from jiti.util_rules.inventory import AllStackPlaces
from jiti.util_rules.preview import check_name, preview_of
from jiti_contract import Plan, PreviewSettings, StackPlace, from_json

ROLE = "arn:{partition}:iam::{account}:role/jiti-deploy"


@pytest.fixture(scope="module")
def rule_runner():
    runner = make_rule_runner(
        QueryRule(DeploymentSetup, [DeploymentSetupRequest]), QueryRule(AllStackPlaces, [])
    )
    runner.write_files(
        {
            "apps/s/BUILD": dedent(
                """\
                cloudformation_stack(name="producer", source="producer.json", app="orders")
                cloudformation_stack(name="consumer", source="consumer.json", app="reports")
                cloudformation_deployment(name="orders", stack=":producer", region="eu-west-1",
                    termination_protection=True)
                cloudformation_deployment(name="reports", stack=":consumer", region="eu-west-1",
                    parameters={"Prefix": "shop-{env}"}, inputs={"TableArn": ":orders.TableArn"})
                cloudformation_deployment(name="prod", stack=":producer", environment="prod")
                cloudformation_deployment(name="fixed", stack=":producer", stack_name="fixed")
                cloudformation_stack(name="other-stack", source="producer.json", app="other")
                cloudformation_deployment(name="other", stack=":other-stack", region="eu-west-1")
                cloudformation_deployment(name="taken", stack=":producer", stack_name="other-pr-7",
                    environment="qa", region="eu-west-1")
                cloudformation_deployment(name="fleet", stack=":producer", stack_name="fleet",
                    stack_set_accounts=["111111111111"], stack_set_regions=["eu-west-1"])
                """
            ),
            "apps/s/producer.json": json.dumps(
                {
                    "Parameters": {"Environment": {"Type": "String"}},
                    "Resources": {"T": {"Type": "AWS::SQS::Queue"}},
                    "Outputs": {"TableArn": {"Value": {"Ref": "T"}}},
                }
            ),
            "apps/s/consumer.json": json.dumps(
                {
                    "Parameters": {"TableArn": {"Type": "String"}, "Prefix": {"Type": "String"}},
                    "Resources": {"Q": {"Type": "AWS::SQS::Queue"}},
                }
            ),
        }
    )
    set_options(runner, "--jiti-repository=shop")
    return runner


def field_set(rule_runner, name: str) -> DeploymentFieldSet:
    return DeploymentFieldSet.create(rule_runner.get_target(Address("apps/s", target_name=name)))


def jiti(preview="pr-7", base="dev", protected=("prod",)):
    return SimpleNamespace(
        preview=preview, preview_base=base, preview_ttl_hours=72, protected_environments=protected
    )


def preview_plan(rule_runner, name: str, *members: str) -> Plan:
    sets = [field_set(rule_runner, m) for m in members]
    preview, _, _ = preview_of(jiti(), sets)
    request = DeploymentSetupRequest(field_set(rule_runner, name), preview)
    setup = rule_runner.request(DeploymentSetup, [request])
    files = {fc.path: fc.content for fc in rule_runner.request(DigestContents, [setup.digest])}
    return from_json(Plan, files[setup.plan_path].decode())


def test_a_copy_reads_the_copy_of_a_producer_in_the_preview(rule_runner):
    plan = preview_plan(rule_runner, "reports", "orders", "reports")
    assert (plan.stack_name, plan.environment, plan.name) == (
        "reports-pr-7",
        "pr-7",
        "reports-pr-7",
    )
    assert plan.region == "eu-west-1" and plan.parameters == {"Prefix": "shop-{env}"}
    assert plan.preview == PreviewSettings("pr-7", "dev", 72)
    (table,) = plan.inputs
    assert table.producer == StackPlace("apps/s:orders", "orders-pr-7", None, "eu-west-1", ROLE)
    orders = preview_plan(rule_runner, "orders", "orders", "reports")
    assert [c.place.stack_name for c in orders.consumers] == ["reports-pr-7"]
    assert orders.termination_protection is False  # destroy-stacks and expiry can delete it


def test_a_copy_alone_reads_the_base_environment_and_its_base_consumers_are_not_its_own(
    rule_runner,
):
    (table,) = preview_plan(rule_runner, "reports", "reports").inputs
    assert table.producer.stack_name == "orders-dev"
    assert preview_plan(rule_runner, "orders", "orders").consumers == ()


def test_only_the_base_environment_is_copied_and_stack_sets_are_refused(rule_runner):
    sets = [field_set(rule_runner, n) for n in ("orders", "prod")]
    preview, kept, left_out = preview_of(jiti(), sets)
    assert preview.members == (Address("apps/s", target_name="orders"),)
    assert [fs.address.target_name for fs in kept] == ["orders"]
    assert left_out == [Address("apps/s", target_name="prod")]
    assert preview_of(jiti(preview=None), sets) == (None, sets, [])
    with pytest.raises(JitiError, match="apps/s:fleet: field `stack_set_accounts`"):
        preview_of(jiti(), [field_set(rule_runner, "fleet")])


def test_a_copy_that_would_be_the_base_stack_or_another_deployments_is_refused(rule_runner):
    set_options(rule_runner, "--jiti-repository=shop")
    places = rule_runner.request(AllStackPlaces, [])
    fixed, _, _ = preview_of(jiti(), [field_set(rule_runner, "fixed")])
    with pytest.raises(JitiError, match="field `stack_name`: 'fixed' has no `{env}`"):
        fixed.places(places)
    other, _, _ = preview_of(jiti(), [field_set(rule_runner, "other")])
    with pytest.raises(JitiError, match="other-pr-7, is the stack of apps/s:taken"):
        other.places(places)


@pytest.mark.parametrize(
    "name, base, expected",
    [
        ("PR_7", "dev", "[jiti].preview (--jiti-preview): 'PR_7' is not a preview name"),
        ("pr-", "dev", "is not a preview name"),
        ("a" * 21, "dev", "is not a preview name"),
        ("prod", "dev", "'prod' is a protected environment"),
        ("dev", "dev", "'dev' is the base environment"),
        ("pr-7", "prod", "[jiti].preview_base: 'prod' is a protected environment"),
    ],
)
def test_a_preview_name_makes_stack_names_and_never_touches_a_protected_environment(
    name, base, expected
):
    with pytest.raises(JitiError) as error:
        check_name(name, base, ("prod",))
    assert expected in str(error.value)
    check_name("pr-123", "dev", ("prod",))
