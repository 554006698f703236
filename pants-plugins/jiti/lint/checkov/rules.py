"""`pants lint` runs checkov's CloudFormation policies on every stack's synthesized template.

All templates of a batch go to one checkov process (it takes seconds to start). checkov reports
JSON, which is rendered one failed check per line, led by the stack's address and the
resource's logical id, then one summary line (with the count of skipped checks, so
suppressions stay visible).
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
from pants.util.strutil import pluralize

from jiti.lint import templates
from jiti.lint.checkov import subsystem
from jiti.lint.checkov.subsystem import Checkov, CheckovFieldSet
from jiti.lint.templates import lint_templates

# checkov is run offline: no download of platform policies or guidelines, no version check.
OFFLINE_ENV = {"BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "TRUE"}


class CheckovRequest(LintTargetsRequest):
    field_set_type = CheckovFieldSet
    tool_subsystem = Checkov
    partitioner_type = PartitionerType.DEFAULT_SINGLE_PARTITION


def render_report(stdout: bytes, owners: Mapping[str, Address]) -> str | None:
    """checkov's JSON report as lines `<address>: <logical id> (<type>): <check> <name> (<file:lines>)`
    and a summary, or None if the output is not checkov's JSON (then it is shown as it is)."""
    try:
        report = json.loads(stdout)
    except ValueError:
        return None
    reports = report if isinstance(report, list) else [report]
    if not all(isinstance(r, dict) for r in reports):
        return None

    def owner(file_path: str) -> str:
        path = file_path.lstrip("/")
        return str(owners.get(path, path))

    lines = []
    passed = failed = skipped = 0
    for r in reports:
        results = r.get("results", {})
        summary = r.get("summary", r)  # a run that checked nothing prints only its summary
        passed += summary.get("passed", 0)
        failed += summary.get("failed", 0)
        skipped += summary.get("skipped", 0)
        for check in results.get("failed_checks", []):
            resource_type, _, logical = check["resource"].partition(".")
            first, last = (check.get("file_line_range") or [0, 0])[:2]
            lines.append(
                f"{owner(check['file_path'])}: {logical} ({resource_type}): {check['check_id']} "
                f"{check['check_name']} ({check['file_path'].lstrip('/')}:{first}-{last})"
            )
        for file_path in results.get("parsing_errors", []):
            lines.append(f"{owner(file_path)}: checkov could not parse {file_path.lstrip('/')}")
    summary = (
        f"{pluralize(len(owners), 'template')}: {passed} checks passed, {failed} failed, "
        f"{skipped} skipped\n"
    )
    return "".join(f"{line}\n" for line in sorted(lines)) + summary


def checkov_argv(checkov: Checkov, paths: tuple[str, ...]) -> tuple[str, ...]:
    config = ("--config-file", checkov.config) if checkov.config else ()
    files = [arg for path in paths for arg in ("--file", path)]
    # JSON last, so it wins over an `--output` in the args: jiti renders the report.
    return (
        *config,
        "--framework",
        "cloudformation",
        "--skip-download",
        *checkov.args,
        *files,
        "--output",
        "json",
    )


@rule(desc="Check CloudFormation templates with checkov", level=LogLevel.DEBUG)
async def run_checkov(
    request: CheckovRequest.Batch[CheckovFieldSet, Any], checkov: Checkov
) -> LintResult:
    return await lint_templates(
        tuple(fs.address for fs in request.elements),
        tool_name=request.tool_name,
        tool=checkov.to_pex_request(interpreter_constraints=checkov.interpreter_constraints),
        config=checkov.config_request,
        argv=partial(checkov_argv, checkov),
        env=OFFLINE_ENV,  # checkov also reads ~/.checkov.yaml: lint_templates sets HOME
        render=render_report,
    )


def rules():
    return [
        *collect_rules(),
        *CheckovRequest.rules(),
        *subsystem.rules(),
        *templates.rules(),
        *pex.rules(),
    ]
