"""The deploy report as Markdown (`dist/jiti-deploy-report.md`), ready to post as a pull-request
comment: one row per deployment, then each change set's resource changes, replacements first."""

from __future__ import annotations

import json

from jiti_deploy.markdown_text import code as _code
from jiti_deploy.markdown_text import fenced as _fenced
from jiti_deploy.markdown_text import name as _name
from jiti_deploy.markdown_text import value as _value
from jiti_deploy.report import Outcome, Result

ORDER = {"Remove": 0, "Modify": 1, "Add": 2}


def _counts(outcome: Outcome) -> str:
    if not outcome.changes:
        return "no resource changes" if outcome.result is not Result.UP_TO_DATE else "-"
    replaced = sum(1 for c in outcome.changes if _replaces(c))
    counts = {}
    for c in outcome.changes:
        if not _replaces(c):
            counts[c["action"]] = counts.get(c["action"], 0) + 1
    words = {"Add": "to add", "Modify": "to modify", "Remove": "to remove"}
    parts = [
        f"{n} {words.get(a, a.lower())}"
        for a, n in sorted(counts.items(), key=lambda i: ORDER.get(i[0], 9))
    ]
    if replaced:
        parts.insert(0, f"**{replaced} to replace**")
    return ", ".join(parts)


def _replaces(change: dict) -> bool:
    return change["action"] == "Modify" and change["replacement"] in ("True", "Conditional")


def _narrowed(before: str | None, after: str | None) -> tuple[str | None, str | None]:
    """Of two JSON objects, only the keys whose values differ (a Lambda's `Code` differs in its
    `S3Key`, not its bucket)."""
    try:
        old, new = json.loads(before), json.loads(after)
    except (TypeError, ValueError):
        return before, after
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return before, after
    keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    return (
        json.dumps({k: old[k] for k in keys if k in old}, sort_keys=True),
        json.dumps({k: new[k] for k in keys if k in new}, sort_keys=True),
    )


def _properties(change: dict) -> str:
    shown = []
    for d in change["details"]:
        label = d["name"] or d["attribute"]
        values = ""
        if d["before"] is not None or d["after"] is not None:
            before, after = _narrowed(d["before"], d["after"])
            values = f": {_value(before)} → {_value(after)}"
        recreation = {"Always": " (replaces)", "Conditionally": " (may replace)"}
        shown.append(f"{_name(label)}{values}{recreation.get(d['requires_recreation'], '')}")
    return "<br>".join(shown) or "-"


def _section(o: Outcome) -> list[str]:
    lines = [
        "",
        f"### {_name(o.stack)} ({_code(o.deployment)})",
        "",
        f"{o.target} {o.account}/{o.region}, version `{o.old_version}` → `{o.new_version}`: "
        f"{o.result.value}",
    ]
    if o.changes:
        lines += [
            "",
            "| action | resource | type | replacement | properties |",
            "| --- | --- | --- | --- | --- |",
        ]
        for c in sorted(
            o.changes,
            key=lambda c: (not _replaces(c), ORDER.get(c["action"], 9), c["logical_id"]),
        ):
            replacement = c["replacement"] if c["action"] == "Modify" else "-"
            if _replaces(c):
                replacement = f"**{replacement}**"
            lines.append(
                f"| {_name(c['action'])} | {_name(c['logical_id'])} | {_name(c['resource_type'])} | "
                f"{replacement} | {_properties(c)} |"
            )
    if o.error:
        lines += ["", *_fenced(o.error.strip())]
    return lines


def render(outcomes: list[Outcome], *, dry_run: bool, error: str | None = None) -> str:
    changing = [o for o in outcomes if o.changes or not o.result.ok]
    title = "jiti plan (dry run)" if dry_run else "jiti deploy"
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.result.value] = counts.get(o.result.value, 0) + 1
    lines = [
        f"## {title}",
        "",
        f"{len(outcomes)} deployments: "
        + (", ".join(f"{n} {r}" for r, n in sorted(counts.items())) or "none"),
        "",
        "| deployment | stack | where | result | changes |",
        "| --- | --- | --- | --- | --- |",
    ]
    for o in outcomes:
        result = o.result.value if o.result.ok else f"**{o.result.value}**"
        lines.append(
            f"| {_code(o.deployment)} | {_name(o.stack)} | {o.target} {o.account}/{o.region} | {result} | "
            f"{_counts(o)} |"
        )
    for o in changing:
        lines += _section(o)
    if error:
        lines += ["", f"**error**: {_code(error)}"]
    if any(o.result is Result.BLOCKED for o in outcomes):
        lines += [
            "",
            "Blocked deployments changed nothing: their change sets would replace or delete "
            "data (`--jiti-fail-on-replace`).",
        ]
    return "\n".join(lines) + "\n"
