"""What a run did: one outcome per deployment (per stack, for prune and drift), shown as a
table and written as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path

from jiti_deploy import masking
from jiti_version import JITI_VERSION


class Result(str, Enum):
    """How one deployment ended (the value is what the table and the report show)."""

    DEPLOYED = "deployed"
    HOTSWAPPED = "hotswapped"  # code, environment or site content changed directly
    UP_TO_DATE = "up to date"
    DRY_RUN = "dry run"
    BLOCKED = "blocked: would replace or delete data"
    FAILED = "failed"
    SKIPPED = "skipped: dependency failed"
    INTERRUPTED = "interrupted"
    # prune-stacks: a stack the repository no longer deploys
    WOULD_DELETE = "would delete"
    DELETED = "deleted"
    REFUSED = "refused"
    KEPT = "kept: a stack that depends on it remains"
    ABSENT = "absent"  # destroy-stacks: the deployment has no stack to delete
    # drift-stacks
    IN_SYNC = "in sync"
    DRIFTED = "drifted"
    NOT_DEPLOYED = "not deployed"
    NOT_CHECKED = "not checked"

    @property
    def ok(self) -> bool:
        return self not in (
            Result.FAILED,
            Result.SKIPPED,
            Result.INTERRUPTED,
            Result.BLOCKED,
            Result.REFUSED,
            Result.KEPT,
            Result.DRIFTED,
        )


@dataclass
class Outcome:
    deployment: str
    stack: str
    target: str  # local or aws
    account: str
    region: str
    result: Result
    old_version: str
    new_version: str
    duration_s: float
    error: str | None = None
    changes: list[dict] = field(default_factory=list)  # the change set's resource changes
    reason: str | None = None  # prune: why the stack goes, or why it may not
    # prune: resources its deletion kept; destroy: each as a dict, with what became of it
    retained: list = field(default_factory=list)
    drift: list[dict] = field(default_factory=list)  # drift: drifted resources, by property
    outputs: dict = field(default_factory=dict)  # deploy: the stack's outputs (secrets masked)
    preview: str | None = None  # deploy: the preview environment the stack is a copy in


def table(headers: tuple[str, ...], rows: list[tuple]) -> str:
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    lines = [
        "  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip()
        for row in [headers, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def summary(outcomes: list[Outcome], *, all_rows_up_to: int = 20) -> str:
    """A table of the outcomes; beyond `all_rows_up_to` rows, only those that are not up to
    date (all of them are in the JSON report)."""
    hidden = 0
    if len(outcomes) > all_rows_up_to:
        shown = [o for o in outcomes if o.result is not Result.UP_TO_DATE]
        hidden, outcomes = len(outcomes) - len(shown), shown
    headers = ("deployment", "stack", "target", "account/region", "result", "version", "time")
    rows = [
        (
            o.deployment,
            o.stack,
            o.target,
            f"{o.account}/{o.region}",
            o.result.value,
            f"{o.old_version} -> {o.new_version}",
            f"{o.duration_s:.1f}s",
        )
        for o in outcomes
    ]
    text = table(headers, rows)
    text += f"\n... and {hidden} more up to date" if hidden else ""
    return text + preview_outputs(outcomes)


def preview_outputs(outcomes: list[Outcome]) -> str:
    """The outputs of preview stacks (the URLs a reviewer opens), under the table."""
    lines = [
        f"  {o.stack}: {key} = {value}"
        for o in outcomes
        if o.preview
        for key, value in sorted(masking.mask(o.outputs).items())
    ]
    previews = sorted({o.preview for o in outcomes if o.preview})
    if not lines:
        return ""
    return f"\noutputs of the preview {', '.join(previews)}:\n" + "\n".join(lines)


def write(
    path: Path,
    outcomes: list[Outcome],
    elapsed_s: float,
    *,
    interrupted: bool = False,
    error: str | None = None,
    key: str = "deployments",
    extra: dict | None = None,
) -> None:
    """The outcomes as JSON under `key`; `elapsed_s` is the whole run's time, reads and waits
    included. Written by every run, also one that was interrupted or stopped by an error."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [{**asdict(o), "result": o.result.value} for o in outcomes]
    report = {
        key: rows,
        "elapsed_s": elapsed_s,
        "interrupted": interrupted,
        # The jiti that wrote it: in the report, not on the stack (a recorded output would
        # change on every upgrade, an update of every stack for no change of the app's).
        "jiti_version": JITI_VERSION,
        **(extra or {}),
    }
    if error:
        report["error"] = error
    path.write_text(json.dumps(masking.mask(report), indent=2) + "\n")
