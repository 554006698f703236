"""The plan posted as a pull-request comment renders what a change set holds as inert text:
values with backticks, code fences, links, images, mentions or HTML stay inside code."""

from __future__ import annotations

import re

from jiti_deploy import plan_markdown
from jiti_deploy.report import Outcome, Result

PAYLOAD = (
    "a` [click](https://evil.example/x) @octocat ![img](https://evil.example/i.png) "
    "<img src=x onerror=alert(1)> ``` \\| b | zz"
)
MARKERS = ("click", "evil.example", "octocat", "onerror", "<img", "zz")


def _outside_code(markdown: str) -> str:
    """The text of `markdown` that is not in a code block or code span (CommonMark's rules:
    a fence closes with at least as many backticks; a span with exactly as many)."""
    outside, fence = [], None
    for line in markdown.splitlines():
        opening = re.match(r"(`{3,})", line)
        if fence is None and opening:
            fence = opening.group(1)
        elif fence is not None:
            if re.fullmatch(re.escape(fence) + "`*", line.strip()):
                fence = None
        else:
            outside.append(_outside_spans(line))
    return "\n".join(outside)


def _outside_spans(line: str) -> str:
    kept, at = [], 0
    while at < len(line):
        if line[at] == "\\":
            kept.append(line[at : at + 2])
            at += 2
            continue
        run = re.match(r"`+", line[at:])
        if not run:
            kept.append(line[at])
            at += 1
            continue
        n = len(run.group(0))
        close = re.search(rf"(?<!`)`{{{n}}}(?!`)", line[at + n :])
        if close is None:
            kept.append(run.group(0))
            at += n
        else:
            at += n + close.end()
    return "".join(kept)


def _cells(row: str) -> list[str]:
    """A table row's cells, split as GitHub splits them (a backslash escapes the next
    character, so only an unescaped pipe ends a cell)."""
    return re.findall(r"(?:\\.|[^|\\])+", row.strip().strip("|"))


def test_values_and_errors_that_hold_markdown_render_as_inert_text():
    detail = {
        "attribute": "Properties",
        "name": "Description",
        "requires_recreation": "Never",
        "change_source": "DirectModification",
        "evaluation": "Static",
        "before": "plain",
        "after": PAYLOAD,
    }
    change = {
        "action": "Modify",
        "logical_id": "Queue",
        "resource_type": "AWS::SQS::Queue",
        "replacement": "False",
        "details": [
            detail,
            {**detail, "name": PAYLOAD, "before": PAYLOAD, "after": "x"},
            {**detail, "name": "www.evil.example", "before": None, "after": None},
        ],
    }
    outcome = Outcome(
        "apps/a:deploy", "a-dev", "local", "123456789012", "us-east-1", Result.FAILED, "1", "2",
        0.1, error=f"CloudFormation said: {PAYLOAD}\n```\nthe end", changes=[change],
    )  # fmt: skip
    markdown = plan_markdown.render([outcome], dry_run=False, error=PAYLOAD)
    outside = _outside_code(markdown)
    assert [m for m in MARKERS if m in outside] == []
    (row,) = [line for line in markdown.splitlines() if line.startswith("| Modify |")]
    assert len(_cells(row)) == 5  # the values' pipes do not make new cells
    assert "Description: `plain` →" in row  # plain values show as before
