"""`pants run` on a `python_awslambda`: which deployment's function the handler runs as, and what
the deploy runtime's `invoke` mode is given."""

from __future__ import annotations

import json
import os
from textwrap import dedent

import pytest
from pants.core.goals.run import RunRequest
from pants.engine.addresses import Address
from pants.engine.fs import DigestContents
from pants.testutil.rule_runner import QueryRule, engine_error

from jiti.errors import JitiError
from jiti.goals.invoke import LambdaDeployment, LambdaRunFieldSet, choose
from jiti.testutil import make_rule_runner, set_options
from jiti_contract import StackPlace


@pytest.fixture(scope="module")
def rule_runner():
    runner = make_rule_runner(QueryRule(RunRequest, [LambdaRunFieldSet]))
    set_options(runner, "--lambdex-layout=zip")
    runner.write_files(
        {
            "apps/fn/handler.py": "def handle(event, context):\n    return event\n",
            "apps/fn/infra.py": dedent(
                """\
                from jiti_infra import App, lambda_function

                def template(app: App):
                    lambda_function(app, "Other", asset=app.asset(":other"))
                    lambda_function(app, "Handler", asset=app.asset(":lambda"))
                    return app.template
                """
            ),
            "apps/fn/other.py": "def handle(event, context):\n    return 1\n",
            "apps/fn/BUILD": dedent(
                """\
                python_sources()
                python_awslambda(name="lambda", handler="handler.py:handle", runtime="python3.11")
                python_awslambda(name="other", handler="other.py:handle", runtime="python3.11")
                python_awslambda(name="alone", handler="other.py:handle", runtime="python3.11")
                cloudformation_stack(name="stack", source="infra.py",
                                     dependencies=[":lambda", ":other"])
                cloudformation_deployment(name="deploy", stack=":stack", environment="dev")
                cloudformation_deployment(name="prod", stack=":stack", environment="prod",
                                          region="eu-west-1")
                """
            ),
        }
    )
    return runner


def invoke(rule_runner, name: str, *options: str) -> tuple[RunRequest, dict, dict]:
    """The run request for `apps/fn:<name>`, the invoke request it holds, and its files."""
    set_options(rule_runner, "--lambdex-layout=zip", *options)
    target = rule_runner.get_target(Address("apps/fn", target_name=name))
    run = rule_runner.request(RunRequest, [LambdaRunFieldSet.create(target)])
    files = {fc.path: fc.content for fc in rule_runner.request(DigestContents, [run.digest])}
    return run, json.loads(files["jiti-invoke.json"]), files


def test_the_handler_runs_as_the_function_of_the_deployment_in_the_base_environment(
    rule_runner,
):
    run, request, files = invoke(rule_runner, "lambda")
    assert run.args[-4:] == ("--mode", "invoke", "--invoke", "{chroot}/jiti-invoke.json")
    assert run.args[:2] == ("/bin/sh", "{chroot}/jiti-deploy.pex")
    assert request["handler"] == "apps.fn.handler:handle" and request["runtime"] == "python3.11"
    assert request["deployment"] == "apps/fn:deploy"  # dev, the base environment, not prod
    assert request["place"]["stack_name"] == "fn-dev"
    template = json.loads(files[request["template"]])
    code = template["Resources"]["Handler"]["Properties"]["Code"]
    assert code["S3Key"] == request["asset_key"]  # the asset names the function, not `Other`
    assert template["Resources"]["Other"]["Properties"]["Code"]["S3Key"] != request["asset_key"]
    assert os.path.normpath(request["python"]) in files and "apps/fn/handler.py" in files
    assert request["source_roots"] == ["."]


def test_a_deployment_can_be_named_and_a_wrong_name_says_which_there_are(rule_runner):
    _, request, _ = invoke(rule_runner, "lambda", "--jiti-invoke-deployment=apps/fn:prod")
    assert request["deployment"] == "apps/fn:prod"
    assert request["place"]["region"] == "eu-west-1"
    with engine_error(
        JitiError,
        contains="[jiti].invoke_deployment: apps/fn:nope is not a deployment whose stack "
        "packages apps/fn:lambda (those are: apps/fn:deploy, apps/fn:prod)",
    ):
        invoke(rule_runner, "lambda", "--jiti-invoke-deployment=apps/fn:nope")


def test_a_lambda_no_stack_packages_runs_without_a_deployment(rule_runner):
    _, request, files = invoke(rule_runner, "alone")
    assert request["deployment"] is None and request["place"] is None
    assert request["note"] == "no deployment's stack packages it"
    assert request["template"] is None and not any(
        path.endswith(".template.json") for path in files
    )


def deployment(name: str, environment: str) -> LambdaDeployment:
    address = Address("apps/fn", target_name=name)
    return LambdaDeployment(address, Address("apps/fn", target_name="stack"), environment,
                            StackPlace(str(address), f"fn-{environment}"))  # fmt: skip


def test_several_deployments_in_the_base_environment_are_named_not_guessed():
    dev, dev2, prod = deployment("deploy", "dev"), deployment("two", "dev"), deployment("p", "prod")
    assert choose("apps/fn:lambda", (prod,), None, "dev") == prod  # the only one
    assert choose("apps/fn:lambda", (), None, "dev") is None
    assert choose("apps/fn:lambda", (dev, dev2), "//apps/fn:two", "dev") == dev2
    with pytest.raises(JitiError) as e:
        choose("apps/fn:lambda", (dev, dev2, prod), None, "dev")
    assert str(e.value) == (
        "apps/fn:lambda: the stacks of 3 deployments package it (apps/fn:deploy, apps/fn:two, "
        "apps/fn:p), 2 of them in the environment `dev` ([jiti].preview_base): name one with "
        "--jiti-invoke-deployment=<address>"
    )
