"""Synthesis: every user mistake in a stack or its inputs is one clear error naming the target
and the field."""

from __future__ import annotations

import json
from textwrap import dedent

import pytest
from pants.engine.addresses import Address
from pants.testutil.rule_runner import QueryRule, engine_error

from jiti.errors import JitiError
from jiti.testutil import BLOB_RULES, BlobTarget, make_rule_runner
from jiti.util_rules.synthesis import SynthesizedStack, SynthesizeStackRequest

INFRA = dedent(
    """\
    def template(app):
        app.asset(":blob")
        return app.template
    """
)


# One repository for the module: each new RuleRunner would build the synthesis environment
# again.
@pytest.fixture(scope="module")
def rule_runner():
    runner = make_rule_runner(
        *BLOB_RULES,
        QueryRule(SynthesizedStack, [SynthesizeStackRequest]),
        extra_target_types=[BlobTarget],
    )
    runner.write_files(
        {
            "apps/badjson/BUILD": 'cloudformation_stack(name="stack", source="t.json")',
            "apps/badjson/t.json": '{"Resources": ',
            "apps/noresources/BUILD": 'cloudformation_stack(name="stack", source="t.yaml")',
            "apps/noresources/t.yaml": "Outputs: {}\n",
            "apps/syntax/BUILD": 'python_sources()\ncloudformation_stack(name="stack", source="infra.py")',
            "apps/syntax/infra.py": "def template(app)\n    return app.template\n",
            "apps/raises/BUILD": 'python_sources()\ncloudformation_stack(name="stack", source="infra.py")',
            "apps/raises/infra.py": "def template(app):\n    raise RuntimeError('no bucket configured')\n",
            "apps/notemplate/BUILD": 'python_sources()\ncloudformation_stack(name="stack", source="infra.py")',
            "apps/notemplate/infra.py": "def template(app):\n    return {'Resources': {}}\n",
            "apps/nofunction/BUILD": 'python_sources()\ncloudformation_stack(name="stack", source="infra.py")',
            "apps/nofunction/infra.py": "X = 1\n",
            "apps/importerror/BUILD": 'python_sources()\ncloudformation_stack(name="stack", source="infra.py")',
            "apps/importerror/infra.py": "import no_such_module_anywhere\n",
            "apps/unowned/BUILD": 'cloudformation_stack(name="stack", source="infra.py")',
            "apps/unowned/infra.py": INFRA,
            "apps/badasset/BUILD": dedent(
                """\
                python_sources()
                blob(name="blob", content="fail")
                cloudformation_stack(name="stack", source="infra.py", dependencies=[":blob"])
                """
            ),
            "apps/badasset/infra.py": INFRA,
            "apps/noasset/BUILD": 'python_sources()\ncloudformation_stack(name="stack", source="infra.py")',
            "apps/noasset/infra.py": INFRA,
            "apps/huge/BUILD": 'cloudformation_stack(name="stack", source="t.json")',
            "apps/huge/t.json": json.dumps(
                {
                    "Resources": {
                        f"Q{i}": {"Type": "AWS::SQS::Queue", "Metadata": {"Pad": "x" * 1000}}
                        for i in range(1100)
                    }
                }
            ),
            "apps/nestedlocal/BUILD": 'cloudformation_stack(name="stack", source="t.yaml")',
            "apps/nestedlocal/t.yaml": dedent(
                """\
                Resources:
                  Child:
                    Type: AWS::CloudFormation::Stack
                    Properties: {TemplateURL: ./child.yaml}
                """
            ),
            "one/svc/BUILD": 'cloudformation_stack(name="stack", source="t.json")',
            "one/svc/t.json": '{"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}',
            "two/svc/BUILD": 'cloudformation_stack(name="stack", source="t.json")',
            "two/svc/t.json": '{"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}',
        }
    )
    return runner


@pytest.mark.parametrize(
    "spec_path, expected",
    [
        (
            "apps/badjson",
            "apps/badjson:stack: field `source`: apps/badjson/t.json is not a valid CloudFormation JSON/YAML template",
        ),
        (
            "apps/noresources",
            "apps/noresources:stack: field `source`: apps/noresources/t.yaml is not a CloudFormation template",
        ),
        (
            "apps/syntax",
            "apps/syntax:stack: field `source`: syntax error in apps/syntax/infra.py, line 1",
        ),
        (
            "apps/raises",
            "template(app) in apps/raises/infra.py raised (line 2): RuntimeError: no bucket configured",
        ),
        ("apps/notemplate", "returned dict, expected a troposphere Template"),
        (
            "apps/nofunction",
            "apps/nofunction/infra.py must define a function `template(app)`",
        ),
        (
            "apps/importerror",
            "importing apps/importerror/infra.py failed (line 1): ModuleNotFoundError",
        ),
        (
            "apps/unowned",
            "apps/unowned:stack: field `source`: apps/unowned/infra.py is not owned by a `python_source` target",
        ),
        (
            "apps/badasset",
            "apps/badasset:stack: a packaged dependency (field `dependencies`: apps/badasset:blob) could not be built",
        ),
        (
            "apps/noasset",
            "asset ':blob' (apps/noasset:blob) is not a packaged dependency of apps/noasset:stack",
        ),
        (
            "apps/huge",
            "apps/huge:stack: the template is 1,",
        ),
        (
            "apps/nestedlocal",
            "apps/nestedlocal:stack: field `source`: apps/nestedlocal/t.yaml: resource Child "
            "(AWS::CloudFormation::Stack): TemplateURL './child.yaml' is a local path",
        ),
        (
            "one/svc",
            "one/svc:stack: field `app`: the app name 'svc' is used by one/svc:stack, two/svc:stack",
        ),
    ],
)
def test_user_mistakes_are_one_clear_error(rule_runner, spec_path: str, expected: str) -> None:
    with engine_error(JitiError, contains=expected):
        rule_runner.request(
            SynthesizedStack, [SynthesizeStackRequest(Address(spec_path, target_name="stack"))]
        )
