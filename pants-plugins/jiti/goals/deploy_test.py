"""`pants run` and `pants experimental-deploy` on a deployment: the runtime's command line and
environment."""

from __future__ import annotations

import pytest
from pants.core.goals.deploy import DeployProcess
from pants.core.goals.run import RunRequest
from pants.engine.addresses import Address
from pants.engine.fs import DigestContents
from pants.testutil.rule_runner import QueryRule, engine_error

from jiti.errors import JitiError
from jiti.goals.deploy import CloudFormationDeployFieldSet, CloudFormationRunFieldSet
from jiti.subsystem import DEPLOY_ENV_VARS
from jiti.testutil import make_rule_runner, set_options
from jiti.util_rules.deploy_runtime import DeployEnvironment


# One repository for the module: a new RuleRunner builds its environments again.
@pytest.fixture(scope="module")
def rule_runner():
    runner = make_rule_runner(
        QueryRule(DeployProcess, [CloudFormationDeployFieldSet]),
        QueryRule(RunRequest, [CloudFormationRunFieldSet]),
        QueryRule(DeployEnvironment, []),
    )
    runner.write_files(
        {
            "apps/q/BUILD": 'cloudformation_stack(name="stack", source="t.json")\n'
            'cloudformation_deployment(name="deploy", stack=":stack")\n',
            "apps/q/t.json": '{"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}',
        }
    )
    return runner


def target(rule_runner):
    return rule_runner.get_target(Address("apps/q", target_name="deploy"))


def expected_argv(rule_runner, root: str, *extra: str) -> tuple[str, ...]:
    return (
        "/bin/sh",
        f"{root}jiti-deploy.pex",
        "--plan",
        f"{root}jiti-plans/apps.q.deploy.json",
        "--artifacts",
        root or ".",
        "--state-dir",
        f"{rule_runner.build_root}/.jiti",
        "--build-root",
        rule_runner.build_root,
        "--outputs-dir",
        f"{rule_runner.build_root}/dist",
        "--max-parallel",
        "4",
        "--target",
        "local",
        "--assets-bucket",
        "jiti-assets-{account}-{region}",
        "--env-vars",
        ",".join(DEPLOY_ENV_VARS),
        *extra,
    )


def test_deploy_process_runs_the_runtime_on_the_plan_with_the_listed_environment(rule_runner):
    set_options(rule_runner, "--jiti-dry-run", env={"AWS_PROFILE": "ci", "SECRET_TOKEN": "x"})
    deploy = rule_runner.request(
        DeployProcess, [CloudFormationDeployFieldSet.create(target(rule_runner))]
    )
    assert deploy.name == "q-dev (apps/q:deploy)" and deploy.description == "(dry run)"
    assert deploy.process.process.argv == expected_argv(rule_runner, "", "--dry-run")
    env = deploy.process.process.env
    assert env["AWS_PROFILE"] == "ci" and "SECRET_TOKEN" not in env
    assert env["PATH"].split(":")[0].endswith("/bin")  # the runtime's interpreter first
    files = {
        fc.path for fc in rule_runner.request(DigestContents, [deploy.process.process.input_digest])
    }
    assert {
        "jiti-deploy.pex",
        "jiti-plans/apps.q.deploy.json",
        "apps.q/stack.manifest.json",
    } <= files


def test_run_request_runs_the_runtime_from_its_chroot(rule_runner):
    set_options(rule_runner)
    run = rule_runner.request(RunRequest, [CloudFormationRunFieldSet.create(target(rule_runner))])
    assert run.args == expected_argv(rule_runner, "{chroot}/")
    # The caller's whole environment comes along; `--env-vars` tells the runtime what to keep.
    assert "PATH" in run.extra_env


def test_an_expected_plan_reaches_the_runtime_from_the_build_root(rule_runner):
    """The runtime runs in a sandbox: the plan the user names is passed as an absolute path."""
    set_options(rule_runner, "--jiti-expect-plan=dist/jiti-plan.json")
    run = rule_runner.request(RunRequest, [CloudFormationRunFieldSet.create(target(rule_runner))])
    assert run.args == expected_argv(
        rule_runner, "{chroot}/", "--expect-plan", f"{rule_runner.build_root}/dist/jiti-plan.json"
    )


@pytest.mark.parametrize(
    "args, env, expected",
    [
        ((), {}, "local"),
        (("--jiti-target=aws",), {}, "aws"),
        (("--jiti-target=auto",), {}, "auto"),
        (("--jiti-target=aws",), {"CI": "true"}, "aws"),
        (("--jiti-target=local",), {"CI": "1"}, "local"),
        ((), {"CI": "false"}, "local"),
    ],
)
def test_where_deployments_go_is_the_target_option(rule_runner, args, env, expected):
    set_options(rule_runner, *args, env=env)
    assert rule_runner.request(DeployEnvironment, []).target == expected


@pytest.mark.parametrize("args", [(), ("--jiti-target=auto",)])
def test_a_ci_job_must_say_where_it_deploys(rule_runner, args):
    set_options(rule_runner, *args, env={"CI": "true", "AWS_PROFILE": "prod"})
    with engine_error(JitiError, contains="CI is set: a CI job must say where it deploys"):
        rule_runner.request(DeployEnvironment, [])


def test_extra_env_vars_add_to_the_list(rule_runner):
    set_options(rule_runner, "--jiti-extra-env-vars=['VAULT_ADDR']", env={"VAULT_ADDR": "v"})
    environment = rule_runner.request(DeployEnvironment, [])
    assert environment.names == (*DEPLOY_ENV_VARS, "VAULT_ADDR")
    assert environment.env["VAULT_ADDR"] == "v"


def test_extra_env_vars_with_a_value_pass_it_in_the_environment_not_the_command_line(
    rule_runner,
):
    """As Pants' own `extra_env_vars`: `NAME=value` sets NAME to value for the deploy; a value
    on the command line would be visible to every user of the machine (`ps`)."""
    set_options(rule_runner, "--jiti-extra-env-vars=['VAULT_ADDR', 'DEPLOY_TOKEN=s3cr3t=x']")
    environment = rule_runner.request(DeployEnvironment, [])
    assert environment.names == (*DEPLOY_ENV_VARS, "VAULT_ADDR", "DEPLOY_TOKEN")
    run = rule_runner.request(RunRequest, [CloudFormationRunFieldSet.create(target(rule_runner))])
    assert run.extra_env["DEPLOY_TOKEN"] == "s3cr3t=x"
    assert not [arg for arg in run.args if "s3cr3t" in arg]
    assert run.args[run.args.index("--env-vars") + 1].endswith(",VAULT_ADDR,DEPLOY_TOKEN")


def test_the_replace_gate_reaches_the_runtime_with_the_guarded_types(rule_runner):
    set_options(
        rule_runner,
        "--jiti-fail-on-replace",
        "--jiti-fail-on-replace-types=['AWS::DynamoDB::Table', 'AWS::S3::Bucket']",
    )
    run = rule_runner.request(RunRequest, [CloudFormationRunFieldSet.create(target(rule_runner))])
    assert run.args == expected_argv(
        rule_runner, "{chroot}/", "--fail-on-replace", "AWS::DynamoDB::Table,AWS::S3::Bucket"
    )


def test_hotswap_reaches_the_runtime_with_the_environments_never_hotswapped(rule_runner):
    set_options(rule_runner, "--jiti-hotswap", "--jiti-protected-environments=['prod', 'staging']")
    run = rule_runner.request(RunRequest, [CloudFormationRunFieldSet.create(target(rule_runner))])
    assert run.args == expected_argv(
        rule_runner, "{chroot}/", "--hotswap", "--protected-environments", "prod,staging"
    )
