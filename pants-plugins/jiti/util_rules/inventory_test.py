"""Where every deployment's stack lives, from the BUILD files alone, and the repository's id."""

from __future__ import annotations

import os
from textwrap import dedent

import pytest
from pants.engine.addresses import Address
from pants.testutil.rule_runner import QueryRule

from jiti.testutil import make_rule_runner, set_options
from jiti.util_rules.inventory import AllStackPlaces, RepositoryName
from jiti_contract import StackPlace


@pytest.fixture(scope="module")
def rule_runner():
    runner = make_rule_runner(QueryRule(AllStackPlaces, []), QueryRule(RepositoryName, []))
    runner.write_files(
        {
            "apps/a/BUILD": dedent(
                """\
                cloudformation_stack(name="stack", source="t.json", app="shop")
                cloudformation_deployment(name="deploy", stack=":stack")
                cloudformation_deployment(name="prod", stack=":stack", environment="prod",
                    account=parametrize("111111111111", "222222222222"), region="eu-west-1")
                cloudformation_deployment(name="fleet", stack=":stack", stack_name="fleet",
                    stack_set_accounts=["333333333333"], stack_set_regions=["us-east-1"])
                """
            ),
            "apps/a/t.json": "{not even JSON: nothing is built}",
        }
    )
    return runner


def test_every_deployment_and_where_its_stack_lives_without_building_it(rule_runner):
    set_options(rule_runner)
    places = dict(rule_runner.request(AllStackPlaces, []).places)
    role = "arn:aws:iam::{account}:role/jiti-deploy"
    assert places == {
        Address("apps/a", target_name="deploy"): StackPlace(
            "apps/a:deploy", "shop-dev", assume_role=role
        ),
        Address("apps/a", target_name="fleet"): StackPlace(
            "apps/a:fleet", "fleet", assume_role=role, stack_set=True
        ),
        **{
            Address("apps/a", target_name="prod", parameters={"account": a}): StackPlace(
                f"apps/a:prod@account={a}", "shop-prod", a, "eu-west-1", role
            )
            for a in ("111111111111", "222222222222")
        },
    }


def test_the_repository_is_the_option_or_the_build_root_name(rule_runner):
    set_options(rule_runner)
    assert rule_runner.request(RepositoryName, []).name == os.path.basename(rule_runner.build_root)
    set_options(rule_runner, "--jiti-repository=shop")
    assert rule_runner.request(RepositoryName, []).name == "shop"
