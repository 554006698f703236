"""Running one of jiti's linters in a RuleRunner, as `pants lint` does."""

from __future__ import annotations

from pants.core.goals.lint import LintResult, LintTargetsRequest, Partitions
from pants.engine.addresses import Address
from pants.testutil.python_rule_runner import PythonRuleRunner
from pants.testutil.rule_runner import QueryRule

from jiti.testutil import make_rule_runner, set_options


def make_lint_rule_runner(request_type: type[LintTargetsRequest]) -> PythonRuleRunner:
    return make_rule_runner(
        QueryRule(Partitions, [request_type.PartitionRequest]),
        QueryRule(LintResult, [request_type.Batch]),
    )


def run_linter(
    rule_runner: PythonRuleRunner,
    request_type: type[LintTargetsRequest],
    addresses: list[Address],
    *options: str,
) -> list[LintResult]:
    """One result per batch; none when the linter is skipped."""
    set_options(rule_runner, *options)
    field_set_type = request_type.field_set_type
    field_sets = [
        field_set_type.create(tgt)
        for tgt in map(rule_runner.get_target, addresses)
        if field_set_type.is_applicable(tgt)
    ]
    partitions = rule_runner.request(Partitions, [request_type.PartitionRequest(tuple(field_sets))])
    return [
        rule_runner.request(
            LintResult,
            [request_type.Batch(request_type.tool_name, p.elements, p.metadata)],
        )
        for p in partitions
    ]
