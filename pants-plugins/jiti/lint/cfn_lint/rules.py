"""`pants lint` runs cfn-lint on the synthesized template of every `cloudformation_stack`.

All templates of a batch go to one cfn-lint process (its start-up costs more than checking a
template). cfn-lint reports JSON, which is rendered one finding per line, led by the stack's
address and the logical id the finding is about.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any, Mapping

from pants.backend.python.util_rules import pex
from pants.core.goals.lint import LintResult, LintTargetsRequest
from pants.core.util_rules.partitions import PartitionerType
from pants.engine.addresses import Address
from pants.engine.rules import collect_rules, rule
from pants.util.logging import LogLevel

from jiti.lint import templates
from jiti.lint.cfn_lint import subsystem
from jiti.lint.cfn_lint.subsystem import CfnLint, CfnLintFieldSet
from jiti.lint.templates import lint_templates


class CfnLintRequest(LintTargetsRequest):
    field_set_type = CfnLintFieldSet
    tool_subsystem = CfnLint
    partitioner_type = PartitionerType.DEFAULT_SINGLE_PARTITION


def logical_id(path: list) -> str:
    """`Handler` for a resource, `Parameters/AssetsBucket` for anything else in a template."""
    if len(path) >= 2 and path[0] == "Resources":
        return str(path[1])
    return "/".join(str(p) for p in path[:2]) or "template"


def render_findings(stdout: bytes, owners: Mapping[str, Address]) -> str | None:
    """cfn-lint's JSON findings as lines `<address>: <logical id>: <rule> <message> (<file:line:col>)`,
    or None if the output is not cfn-lint's JSON (then it is shown as it is)."""
    try:
        matches = json.loads(stdout or b"[]")
    except ValueError:
        return None
    if not isinstance(matches, list):
        return None
    lines = []
    for match in matches:
        filename = match["Filename"]
        location = match.get("Location", {})
        start = location.get("Start", {})
        owner = owners.get(filename, filename)
        lines.append(
            f"{owner}: {logical_id(location.get('Path') or [])}: {match['Rule']['Id']} "
            f"{match['Message']} ({filename}:{start.get('LineNumber', 0)}:"
            f"{start.get('ColumnNumber', 0)})"
        )
    return "".join(f"{line}\n" for line in sorted(lines))


def cfn_lint_argv(cfn_lint: CfnLint, paths: tuple[str, ...]) -> tuple[str, ...]:
    config = ("--config-file", cfn_lint.config) if cfn_lint.config else ()
    # JSON last, so it wins over a `--format` in the args: jiti renders the findings.
    return (*config, *cfn_lint.args, "--format", "json", "--", *paths)


@rule(desc="Lint CloudFormation templates with cfn-lint", level=LogLevel.DEBUG)
async def run_cfn_lint(
    request: CfnLintRequest.Batch[CfnLintFieldSet, Any], cfn_lint: CfnLint
) -> LintResult:
    return await lint_templates(
        tuple(fs.address for fs in request.elements),
        tool_name=request.tool_name,
        tool=cfn_lint.to_pex_request(interpreter_constraints=cfn_lint.interpreter_constraints),
        config=cfn_lint.config_request,
        argv=partial(cfn_lint_argv, cfn_lint),
        env={},  # cfn-lint also reads ~/.cfnlintrc: lint_templates sets HOME
        render=render_findings,
    )


def rules():
    return [
        *collect_rules(),
        *CfnLintRequest.rules(),
        *subsystem.rules(),
        *templates.rules(),
        *pex.rules(),
    ]
