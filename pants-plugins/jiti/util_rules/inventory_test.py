"""Where every deployment's stack lives, from the BUILD files alone, and the repository's id."""

from __future__ import annotations

import subprocess
from textwrap import dedent

import pytest
from pants.build_graph.address import ResolveError
from pants.engine.addresses import Address
from pants.testutil.rule_runner import QueryRule, engine_error

from jiti.errors import JitiError
from jiti.goals.prune_stacks import PruneStacks
from jiti.testutil import BASE_OPTIONS, ENV_INHERIT, make_rule_runner, set_options
from jiti.util_rules.inventory import (
    AllStackPlaces,
    RepositoryName,
    repository_from_git,
    repository_from_remote,
)
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
    role = "arn:{partition}:iam::{account}:role/jiti-deploy"
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


def test_the_repository_is_the_option_and_never_the_directory_name(rule_runner):
    """Two repositories checked out as `src` must not own each other's stacks: without the
    option or a git remote there is no id, and prune-stacks refuses, saying how to set it."""
    set_options(rule_runner)
    repository = rule_runner.request(RepositoryName, [])
    assert repository.name is None
    with pytest.raises(JitiError) as error:
        repository.required("prune-stacks")
    assert str(error.value) == (
        "prune-stacks: this repository has no id to tell its stacks from other repositories' "
        '(no `[jiti].repository` and no git remote `origin`): set `repository = "<id>"` '
        "under `[jiti]` in pants.toml, the same for every clone (e.g. `github.com/org/repo`)"
    )
    set_options(rule_runner, "--jiti-repository=shop")
    assert rule_runner.request(RepositoryName, []).required("prune-stacks") == "shop"


@pytest.mark.parametrize(
    "url, expected",
    [
        ("git@github.com:Org/shop.git", "github.com/Org/shop"),
        ("https://ci-user:s3cret@GitHub.com/Org/shop.git", "github.com/Org/shop"),
        ("ssh://git@git.example.com:2222/team/shop", "git.example.com/team/shop"),
        ("https://github.com/Org/shop/", "github.com/Org/shop"),
        ("/srv/git/shop.git", None),  # a path on this machine: not unique
        ("../shop", None),
        ("file:///srv/git/shop.git", None),
    ],
)
def test_the_git_remote_gives_an_id_without_credentials(url, expected):
    assert repository_from_remote(url) == expected


def test_the_id_comes_from_the_git_remote_and_the_build_root_s_place_in_it(tmp_path):
    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    assert repository_from_git(str(tmp_path)) is None  # no remote
    git("remote", "add", "origin", "https://token@github.com/org/mono.git")
    assert repository_from_git(str(tmp_path)) == "github.com/org/mono"
    (tmp_path / "infra").mkdir()
    assert repository_from_git(str(tmp_path / "infra")) == "github.com/org/mono/infra"


def test_a_deployment_whose_stack_is_not_a_stack_stops_prune_stacks():
    """Silently left out, its live stack would look no longer deployed to prune-stacks."""
    runner = make_rule_runner()
    runner.write_files(
        {
            "apps/b/BUILD": 'files(name="lib", sources=["t.json"])\n'
            'cloudformation_deployment(name="deploy", stack=":lib")\n',
            "apps/b/t.json": "{}",
        }
    )
    with engine_error(
        JitiError,
        contains="prune-stacks: apps/b:deploy: field `stack`: apps/b:lib is not a "
        "`cloudformation_stack`",
    ):
        runner.run_goal_rule(
            PruneStacks,
            global_args=[*BASE_OPTIONS, "--jiti-repository=shop"],
            env_inherit=ENV_INHERIT,
        )


def test_prune_stacks_refuses_to_run_without_a_repository_id():
    runner = make_rule_runner()
    runner.write_files(
        {
            "apps/a/BUILD": 'cloudformation_stack(name="stack", source="t.json")\n'
            'cloudformation_deployment(name="deploy", stack=":stack")\n',
            "apps/a/t.json": "{}",
        }
    )
    with engine_error(JitiError, contains="prune-stacks: this repository has no id"):
        runner.run_goal_rule(PruneStacks, global_args=BASE_OPTIONS, env_inherit=ENV_INHERIT)


def test_a_stack_named_from_another_directory_has_its_place():
    """The `stack` field is read without the engine when it names a target at hand by
    directory and name; any other goes through the engine, whose error a missing one gets."""
    runner = make_rule_runner(QueryRule(AllStackPlaces, []))
    files = {
        "apps/a/BUILD": 'cloudformation_stack(name="stack", source="t.json", app="shop")\n',
        "apps/a/t.json": "{}",
        "apps/b/BUILD": 'cloudformation_deployment(name="by-dir", stack="//apps/a:stack")\n',
    }
    runner.write_files(files)
    set_options(runner)
    found = runner.request(AllStackPlaces, [])
    assert {str(a): p.stack_name for a, p in found.by_address.items()} == {
        "apps/b:by-dir": "shop-dev"
    }
    assert found.unknown == ()
    runner.write_files(
        {"apps/c/BUILD": 'cloudformation_deployment(name="gone", stack=":missing")\n'}
    )
    with engine_error(
        ResolveError, contains="apps/c:missing from the `stack` field of apps/c:gone"
    ):
        runner.request(AllStackPlaces, [])
