"""A read-only plan written out: as JSON (what `--expect-plan` and the goal read) and as
Markdown for a pull-request comment, headed by the blast radius in one line, one collapsible
section per stack that changes, and the security-relevant changes. The Markdown stays under
GitHub's comment limit: property details go first, then resource rows, never a stack's header.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from jiti_deploy import masking
from jiti_deploy.markdown_text import code, fenced, name, value

FORMAT = 1
MARKDOWN_LIMIT = 65_000  # characters GitHub takes in a comment (65,536), with room to spare
CHANGING = ("new", "changes")
# What is dropped, level by level, to fit the limit.
FULL, WITHOUT_DETAILS, WITHOUT_ROWS = 0, 1, 2


def _replaced(change: dict) -> bool:
    return change["action"] == "Modify" and change["replacement"] in ("True", "Conditional")


def summary(entries: list[dict]) -> dict:
    changing = [e for e in entries if e["status"] in CHANGING]
    changes = [c for e in changing for c in e["changes"]]
    counts = {status: 0 for status in ("new", "changes", "unchanged", "failed", "skipped")}
    for e in entries:
        counts[e["status"]] = counts.get(e["status"], 0) + 1
    return {
        "deployments": len(entries),
        **counts,
        "stacks_changing": len(changing),
        "accounts_changing": len({e["account"] for e in changing}),
        "added": sum(c["action"] == "Add" for c in changes),
        "modified": sum(c["action"] == "Modify" and not _replaced(c) for c in changes),
        "replaced": sum(_replaced(c) for c in changes),
        "removed": sum(c["action"] == "Remove" for c in changes),
        "broadening": sum(len(e["broadening"]) for e in entries),
        "pending_inputs": sum(len(e["pending_inputs"]) for e in entries),
    }


def document(entries: list[dict]) -> dict:
    return {"format": FORMAT, "deployments": entries, "summary": summary(entries)}


def write_json(path: Path, entries: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(masking.mask(document(entries)), indent=2, sort_keys=True)
    path.write_text(text + "\n")


def blast_radius(s: dict) -> str:
    """The plan in one line."""
    stacks = (
        "1 stack changes" if s["stacks_changing"] == 1 else f"{s['stacks_changing']} stacks change"
    )
    accounts = "1 account" if s["accounts_changing"] == 1 else f"{s['accounts_changing']} accounts"
    line = (
        f"{stacks} in {accounts}: {s['added']} resources added, {s['modified']} modified, "
        f"{s['replaced']} replaced, {s['removed']} removed; {s['unchanged']} selected "
        "deployments unchanged"
    )
    if s["failed"]:
        line += f"; {s['failed']} could not be planned"
    return line


def _inert(text: str) -> str:
    """Plain text inside HTML (a `<summary>`): no tag, entity or mention."""
    return html.escape(str(text)).replace("@", "&#64;")


def _counts(entry: dict) -> str:
    changes = entry["changes"]
    parts = [
        f"{sum(_replaced(c) for c in changes)} replaced",
        f"{sum(c['action'] == 'Add' for c in changes)} added",
        f"{sum(c['action'] == 'Modify' and not _replaced(c) for c in changes)} modified",
        f"{sum(c['action'] == 'Remove' for c in changes)} removed",
    ]
    return ", ".join(parts)


def _header(entry: dict) -> str:
    status = "new stack" if entry["status"] == "new" else entry["status"]
    where = f"{entry['account']}/{entry['region']}"
    return (
        f"<summary><b>{_inert(entry['stack'])}</b> ({_inert(entry['address'])}) in "
        f"{_inert(where)}: {_inert(status)}: {_counts(entry)}</summary>"
    )


def _properties(change: dict) -> str:
    shown = []
    for d in change["details"]:
        values = ""
        if d["before"] is not None or d["after"] is not None:
            values = f": {value(d['before'])} → {value(d['after'])}"
        marks = {"Always": " (replaces)", "Conditional": " (may replace)"}
        shown.append(f"{name(d['property'])}{values}{marks.get(d['replacement'], '')}")
    return "<br>".join(shown) or "-"


def _rows(entry: dict, level: int) -> list[str]:
    if level >= WITHOUT_ROWS or not entry["changes"]:
        return []
    lines = [
        "| action | resource | type | replacement | properties |",
        "| --- | --- | --- | --- | --- |",
    ]
    for c in sorted(entry["changes"], key=lambda c: (not _replaced(c), c["logical_id"])):
        replacement = c["replacement"] if c["action"] == "Modify" else "-"
        if _replaced(c):
            replacement = f"**{replacement}**"
        properties = _properties(c) if level == FULL else ", ".join(c["scope"]) or "-"
        lines.append(
            f"| {c['action']} | {name(c['logical_id'])} | {name(c['type'])} | {replacement} | "
            f"{properties} |"
        )
    return lines


def _section(entry: dict, level: int) -> list[str]:
    lines = ["", "<details>", _header(entry), ""]
    if entry["live"]:
        lines.append(
            f"live version `{(entry['live']['version'] or 'none')[:12]}` → `{entry['new_version'][:12]}`"
        )
    for item in entry["pending_inputs"]:
        lines.append(f"- input {name(item['parameter'])} pending: {code(item['reason'])}")
    lines += ["", *_rows(entry, level)]
    if entry.get("error"):
        lines += ["", *fenced(entry["error"].strip())]
    return [*lines, "", "</details>"]


def _security(entries: list[dict]) -> list[str]:
    flagged = [(e, f) for e in entries for f in e["broadening"]]
    if not flagged:
        return []
    lines = [
        "",
        "### Security",
        "",
        "| stack | resource | kind | what widens |",
        "| --- | --- | --- | --- |",
    ]
    for e, f in flagged:
        lines.append(
            f"| {name(e['stack'])} | {name(f['logical_id'])} | {f['kind']} | {code(f['detail'])} |"
        )
    return lines


def _render(entries: list[dict], level: int) -> str:
    s = summary(entries)
    lines = ["## jiti plan", "", blast_radius(s)]
    lines += _security(entries)
    for entry in entries:
        if entry["status"] in CHANGING or entry["status"] == "failed":
            lines += _section(entry, level)
    if level == WITHOUT_DETAILS:
        lines += ["", "_Property details were left out to fit a comment: see the JSON plan._"]
    elif level == WITHOUT_ROWS:
        lines += ["", "_Resource rows were left out to fit a comment: see the JSON plan._"]
    return "\n".join(lines) + "\n"


def markdown(entries: list[dict], limit: int = MARKDOWN_LIMIT) -> str:
    """The plan as Markdown, at most `limit` characters where the stacks' headers fit."""
    entries = masking.mask(entries)
    for level in (FULL, WITHOUT_DETAILS, WITHOUT_ROWS):
        text = _render(entries, level)
        if len(text) <= limit:
            return text
    return text


def write_markdown(path: Path, entries: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(markdown(entries))
