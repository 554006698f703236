"""jiti's Lambda zips are the zips Pants' own `python_awslambda` rule writes, byte for byte."""

from __future__ import annotations

import io
import zipfile
from textwrap import dedent

import pytest
from pants.backend.awslambda.python.rules import PythonAwsLambdaFieldSet
from pants.backend.python.util_rules.faas import BuildPythonFaaSRequest
from pants.core.goals.package import BuiltPackage
from pants.engine.addresses import Address
from pants.engine.fs import DigestContents
from pants.testutil.rule_runner import QueryRule

from jiti.lambda_fallback.rules import faas_request
from jiti.testutil import make_rule_runner, set_options
from jiti.util_rules.lambda_zip import flat_zip


def test_flat_zip_is_deterministic_and_lists_every_directory() -> None:
    files = {
        "pkg/sub/mod.py": (b"x = 1\n", False),
        "lambda_function.py": (b"from pkg.sub.mod import x as handler", False),
        "bin/tool": (b"#!/bin/sh\n", True),
    }
    data = flat_zip(files, directories=["empty"])
    assert data == flat_zip(dict(reversed(list(files.items()))), directories=["empty"])
    infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
    assert [i.filename for i in infos] == [
        "bin/",
        "bin/tool",
        "empty/",
        "lambda_function.py",
        "pkg/",
        "pkg/sub/",
        "pkg/sub/mod.py",
    ]
    modes = {i.filename: i.external_attr >> 16 for i in infos}
    assert modes["bin/tool"] == 0o100755
    assert modes["pkg/sub/mod.py"] == 0o100644
    assert modes["pkg/"] == 0o40755
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.compress_type for i in infos if i.is_dir()} == {zipfile.ZIP_STORED}
    assert {i.compress_type for i in infos if not i.is_dir()} == {zipfile.ZIP_DEFLATED}


@pytest.fixture(scope="module")
def rule_runner():
    runner = make_rule_runner(
        QueryRule(BuiltPackage, [PythonAwsLambdaFieldSet]),
        QueryRule(BuiltPackage, [BuildPythonFaaSRequest]),
    )
    set_options(runner, "--lambdex-layout=zip")
    runner.write_files(
        {
            "libs/greeting.py": "def greet(name):\n    return f'hello {name}'\n",
            "libs/BUILD": "python_sources()",
            "apps/plain/handler.py": dedent(
                """\
                from libs.greeting import greet

                def handle(event, context):
                    return greet("plain")
                """
            ),
            "apps/yaml/handler.py": dedent(
                """\
                import cfn_flip

                def handle(event, context):
                    return cfn_flip.to_json("a: 1")
                """
            ),
            "apps/plain/BUILD": dedent(
                """\
                python_sources()
                python_awslambda(name="lambda", handler="handler.py:handle", runtime="python3.11")
                """
            ),
            "apps/yaml/BUILD": dedent(
                """\
                python_sources()
                python_awslambda(name="lambda", handler="handler.py:handle", runtime="python3.11")
                python_awslambda(
                    name="bare", handler="handler.py:handle", runtime="python3.11",
                    include_requirements=False,
                )
                """
            ),
        }
    )
    return runner


def zip_of(rule_runner, package: BuiltPackage) -> tuple[str, bytes]:
    (content,) = rule_runner.request(DigestContents, [package.digest])
    return content.path, content.content


@pytest.mark.parametrize(
    "address",
    [
        Address("apps/plain", target_name="lambda"),
        Address("apps/yaml", target_name="lambda"),
        Address("apps/yaml", target_name="bare"),
    ],
)
def test_the_zip_is_the_one_pants_builds(rule_runner, address: Address) -> None:
    field_set = PythonAwsLambdaFieldSet.create(rule_runner.get_target(address))
    ours = zip_of(rule_runner, rule_runner.request(BuiltPackage, [field_set]))
    pants_request = faas_request(field_set)  # as Pants' own python_awslambda rule asks for it
    pants = zip_of(rule_runner, rule_runner.request(BuiltPackage, [pants_request]))
    assert ours[0] == pants[0] == f"{address.spec_path.replace('/', '.')}/{address.target_name}.zip"
    assert ours[1] == pants[1]

    names = zipfile.ZipFile(io.BytesIO(ours[1])).namelist()
    assert "lambda_function.py" in names
    assert f"{address.spec_path}/handler.py" in names
    has_yaml = "yaml/__init__.py" in names
    assert has_yaml == (address == Address("apps/yaml", target_name="lambda"))
