"""The `python_awslambda` targets jiti's own builder does not cover: built by Pants' builders
with the `jiti.lambda_fallback` backend, and one clear error naming the target and the setting
without it."""

from __future__ import annotations

import io
import zipfile
from textwrap import dedent

import pytest
from pants.backend.awslambda.python.rules import PythonAwsLambdaFieldSet
from pants.core.goals.package import BuiltPackage
from pants.engine.addresses import Address
from pants.engine.fs import DigestContents
from pants.engine.internals.scheduler import ExecutionError
from pants.testutil.rule_runner import QueryRule

from jiti.lambda_fallback import register as fallback
from jiti.testutil import make_rule_runner, set_options

FILES = {
    "libs/dist/greeting.py": "def greet(name):\n    return f'hello {name}'\n",
    "libs/dist/BUILD": dedent(
        """\
        python_sources()
        python_distribution(
            name="greeting-dist",
            dependencies=["./greeting.py"],
            provides=python_artifact(name="greeting", version="1.0"),
            wheel=True,
            sdist=False,
        )
        """
    ),
    "apps/withdist/handler.py": dedent(
        """\
        from libs.dist.greeting import greet

        def handle(event, context):
            return greet("dist")
        """
    ),
    "apps/withdist/BUILD": dedent(
        """\
        python_sources()
        python_awslambda(
            name="lambda", handler="handler.py:handle", runtime="python3.11",
            dependencies=["libs/dist:greeting-dist"],
        )
        """
    ),
}
LAMBDA = Address("apps/withdist", target_name="lambda")


def runner(*extra_rules):
    rule_runner = make_rule_runner(*extra_rules, QueryRule(BuiltPackage, [PythonAwsLambdaFieldSet]))
    set_options(rule_runner, "--lambdex-layout=zip")
    rule_runner.write_files(FILES)
    return rule_runner


def package(rule_runner) -> BuiltPackage:
    field_set = PythonAwsLambdaFieldSet.create(rule_runner.get_target(LAMBDA))
    return rule_runner.request(BuiltPackage, [field_set])


@pytest.mark.parametrize(
    "layout, reason",
    [
        ("zip", "the local python_distribution libs/dist:greeting-dist in its dependencies"),
        ("lambdex", '`[lambdex].layout = "lambdex"`'),
    ],
)
def test_without_the_backend_one_error_names_the_target_and_the_setting(layout, reason):
    rule_runner = runner()
    set_options(rule_runner, f"--lambdex-layout={layout}")
    with pytest.raises(ExecutionError) as error:
        package(rule_runner)
    message = str(error.value)
    assert (
        f"{LAMBDA}: jiti builds a python_awslambda's zip itself, but not with {reason}" in message
    )
    assert '"jiti.lambda_fallback" to [GLOBAL].backend_packages' in message


def test_with_the_backend_pants_builds_it_with_the_distribution_installed():
    rule_runner = runner(*fallback.rules())
    (content,) = rule_runner.request(DigestContents, [package(rule_runner).digest])
    names = zipfile.ZipFile(io.BytesIO(content.content)).namelist()
    assert content.path == "apps.withdist/lambda.zip"
    assert "lambda_function.py" in names and "apps/withdist/handler.py" in names
    assert "libs/dist/greeting.py" in names  # from the distribution's wheel


def test_with_the_backend_pants_builds_the_lambdex_layout():
    rule_runner = runner(*fallback.rules())
    set_options(rule_runner, "--lambdex-layout=lambdex")
    (content,) = rule_runner.request(DigestContents, [package(rule_runner).digest])
    names = zipfile.ZipFile(io.BytesIO(content.content)).namelist()
    assert content.path == "apps.withdist/lambda.zip"
    assert "lambdex_handler.py" in names
