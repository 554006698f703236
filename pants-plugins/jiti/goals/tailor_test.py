"""`pants tailor` for stacks: which files get a `cloudformation_stack`, and the BUILD it writes."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest
from pants.backend.python import target_types_rules
from pants.backend.python.target_types import PythonSourcesGeneratorTarget
from pants.core.goals import tailor as core_tailor
from pants.core.goals.tailor import PutativeTargets, TailorGoal
from pants.core.target_types import FilesGeneratorTarget
from pants.core.util_rules import source_files
from pants.engine.internals.build_files import extract_build_file_options
from pants.testutil.rule_runner import QueryRule, RuleRunner

from jiti.goals import tailor
from jiti.goals.tailor import (
    PutativeCloudFormationStackTargetsRequest,
    defines_template_function,
    putative_stack,
)
from jiti.target_types import CloudFormationStackTarget

INFRA = "from jiti_infra import App\n\n\ndef template(app: App):\n    return app.template\n"
TEMPLATE = "Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n"


@pytest.fixture
def rule_runner() -> RuleRunner:
    return RuleRunner(
        rules=[
            *tailor.rules(),
            *core_tailor.rules(),
            *target_types_rules.rules(),
            *source_files.rules(),
            extract_build_file_options,
            QueryRule(PutativeTargets, (PutativeCloudFormationStackTargetsRequest,)),
        ],
        target_types=[
            CloudFormationStackTarget,
            PythonSourcesGeneratorTarget,
            FilesGeneratorTarget,
        ],
    )


def putative(rule_runner: RuleRunner, *dirs: str, options: tuple[str, ...] = ()) -> PutativeTargets:
    rule_runner.set_options(list(options))
    return rule_runner.request(PutativeTargets, [PutativeCloudFormationStackTargetsRequest(dirs)])


def test_stacks_for_infra_modules_and_plain_templates(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            # An app whose infra module has no stack yet.
            "apps/new/BUILD": "python_sources()",
            "apps/new/infra.py": INFRA,
            # Already a stack, and a module named infra.py that is not a stack's.
            "apps/done/BUILD": 'python_sources()\ncloudformation_stack(name="stack", source="infra.py")',
            "apps/done/infra.py": INFRA,
            "tools/infra.py": "def deploy(): ...\n",
            # Plain templates: a new one, one that a `files` target also owns, one already a
            # stack's source.
            "infra/network.template.yaml": TEMPLATE,
            "infra/dns.template.json": '{"Resources": {}}',
            "infra/BUILD": dedent(
                """\
                files(name="fixtures", sources=["dns.template.json"])
                cloudformation_stack(name="queue", source="queue.template.yml")
                """
            ),
            "infra/queue.template.yml": TEMPLATE,
            "infra/notes.yaml": "not a template: no .template suffix\n",
        }
    )
    found = putative(rule_runner, "apps/new", "apps/done", "tools", "infra")
    assert found == PutativeTargets(
        [
            putative_stack("apps/new/infra.py"),
            putative_stack("infra/dns.template.json"),
            putative_stack("infra/network.template.yaml"),
        ]
    )
    assert [(p.name, dict(p.kwargs)) for p in found] == [
        ("stack", {"source": "infra.py"}),
        ("dns", {"source": "dns.template.json"}),
        ("network", {"source": "network.template.yaml"}),
    ]
    assert putative(rule_runner, "apps/new", "infra", options=("--jiti-tailor-stacks=false",)) == (
        PutativeTargets()
    )


def test_tailor_writes_the_stack_once_and_check_mode_then_passes(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            "apps/new/BUILD": "python_sources()\n",
            "apps/new/infra.py": INFRA,
            "apps/new/edge.template.yaml": TEMPLATE,
        }
    )
    check = rule_runner.run_goal_rule(TailorGoal, args=["--check", "::"])
    assert check.exit_code == 1
    assert "Would update apps/new/BUILD" in check.stdout

    assert rule_runner.run_goal_rule(TailorGoal, args=["::"]).exit_code == 0
    assert Path(rule_runner.build_root, "apps/new/BUILD").read_text() == dedent(
        """\
        python_sources()

        cloudformation_stack(
            name="edge",
            source="edge.template.yaml",
        )

        cloudformation_stack(
            name="stack",
            source="infra.py",
        )
        """
    )
    again = rule_runner.run_goal_rule(TailorGoal, args=["--check", "::"])
    assert (again.exit_code, again.stdout) == (0, "")


@pytest.mark.parametrize(
    "source, expected",
    [
        (INFRA, True),
        ("def template(app, extra=None):\n    ...\n", True),
        ("def template():\n    ...\n", False),
        ("class Stack:\n    def template(self, app): ...\n", False),
        ("template = None\n", False),
        ("def template(app)\n", False),  # a syntax error: not proposed, package reports it
    ],
)
def test_what_counts_as_an_infra_module(source: str, expected: bool) -> None:
    assert defines_template_function(source.encode()) is expected
