"""Many deployments in one process: one batched read per region, then only what differs,
in dependency order, independent ones in parallel, with a summary at the end."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from jiti_infra.deploy import live, runner
from jiti_infra.deploy.errors import DeployError
from jiti_infra.deploy.plan import Deployment
from jiti_infra.deploy.target import AwsTarget, Targets

FAILED = "failed"
SKIPPED = "skipped: dependency failed"


@dataclass
class Outcome:
    deployment: str
    stack: str
    account: str
    region: str
    result: str
    old_version: str
    new_version: str
    duration_s: float
    error: str | None = None


def dependencies_in_run(deployments: list[Deployment]) -> dict[str, tuple[str, ...]]:
    """Each deployment's dependencies among this run's (others are taken as deployed),
    refusing cycles."""
    in_run = {d.address for d in deployments}
    deps = {d.address: tuple(x for x in d.depends_on if x in in_run) for d in deployments}
    done: set[str] = set()

    def visit(address: str, path: tuple[str, ...]) -> None:
        if address in path:
            raise DeployError(
                f"deployments depend on each other in a cycle: {' -> '.join((*path, address))}"
            )
        if address not in done:
            for dep in deps[address]:
                visit(dep, (*path, address))
            done.add(address)

    for address in deps:
        visit(address, ())
    return deps


def run(
    targets: Targets,
    deployments: list[Deployment],
    *,
    dry_run: bool,
    max_parallel: int,
    log=print,
) -> list[Outcome]:
    """Deploy everything that differs from what is live; one deployment's failure (or one
    account's) fails that deployment and skips its dependents, never the whole run."""
    deps_of = dependencies_in_run(deployments)
    lock = threading.Lock()

    def say(prefix: str):
        def log_line(message: str) -> None:
            with lock:
                for line in message.splitlines():
                    log(f"[{prefix}] {line}")

        return log_line

    def target_of(d: Deployment) -> AwsTarget:
        return targets.get(d.account, d.region, d.role_to_assume)

    # One batched read of what is live per account and region; where it fails, each
    # deployment reads (and reports) for itself.
    current: dict[tuple, object] = {}
    for key in sorted({(d.account, d.region) for d in deployments}, key=str):
        group = [d for d in deployments if (d.account, d.region) == key]
        try:
            found = live.describe_all(
                target_of(group[0]).client("cloudformation"), {d.stack_name for d in group}
            )
        except (DeployError, ClientError, BotoCoreError):
            continue
        current.update({(key, d.stack_name): found.get(d.stack_name) for d in group})

    def outcome(
        d: Deployment, result: str, old: str, started: float, error: str | None = None
    ) -> Outcome:
        try:
            account, region = target_of(d).account, target_of(d).region
        except (ClientError, BotoCoreError):
            account, region = d.account or "?", d.region or "?"
        elapsed = round(time.monotonic() - started, 2)
        return Outcome(
            d.address, d.stack_name, account, region, result, old, d.version[:12], elapsed, error
        )

    def deploy_one(d: Deployment) -> Outcome:
        where = " ".join(filter(None, (d.stack_name, d.account, d.region)))
        started, log_line = time.monotonic(), say(where)
        before = current.get(((d.account, d.region), d.stack_name), runner.NOT_LOOKED_UP)
        old = (
            "?"
            if before is runner.NOT_LOOKED_UP
            else (before.tags.get(live.VERSION_TAG) or "none")[:12]
            if before
            else "none"
        )
        try:
            result = runner.deploy(target_of(d), d, dry_run=dry_run, log=log_line, current=before)
        except (DeployError, ClientError, BotoCoreError) as e:
            log_line(f"error: {e}")
            return outcome(d, FAILED, old, started, str(e))
        return outcome(d, result, old, started)

    outcomes: dict[str, Outcome] = {}
    pending = {d.address: d for d in deployments}
    running: dict = {}
    with ThreadPoolExecutor(max_workers=max(1, max_parallel)) as pool:
        while pending or running:
            for address, d in sorted(pending.items()):
                if len(running) >= max(1, max_parallel):
                    break
                deps = [outcomes.get(dep) for dep in deps_of[address]]
                if any(o is None for o in deps):
                    continue  # a dependency is still pending or running
                del pending[address]
                if any(o.result in (FAILED, SKIPPED) for o in deps):
                    outcomes[address] = outcome(d, SKIPPED, "-", time.monotonic())
                else:
                    running[pool.submit(deploy_one, d)] = address
            if running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    outcomes[running.pop(future)] = future.result()
    return [outcomes[d.address] for d in deployments]


def summary(outcomes: list[Outcome]) -> str:
    headers = ("deployment", "stack", "account/region", "result", "version", "time")
    rows = [
        (
            o.deployment,
            o.stack,
            f"{o.account}/{o.region}",
            o.result,
            f"{o.old_version} -> {o.new_version}",
            f"{o.duration_s:.1f}s",
        )
        for o in outcomes
    ]
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    lines = [
        "  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip()
        for row in [headers, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write_report(path: Path, outcomes: list[Outcome], elapsed_s: float) -> None:
    """The summary as JSON; `elapsed_s` is the whole run's time, reads and waits included."""
    path.parent.mkdir(parents=True, exist_ok=True)
    report = {"deployments": [asdict(o) for o in outcomes], "elapsed_s": elapsed_s}
    path.write_text(json.dumps(report, indent=2) + "\n")
