"""Many deployments in one process: one batched read per account and region, then only what
differs, in dependency order, independent ones in parallel, with a summary at the end."""

from __future__ import annotations

import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from botocore.exceptions import BotoCoreError, ClientError

from jiti_contract import VERSION_TAG
from jiti_deploy import interrupt, live, runner
from jiti_deploy.deployment import Deployment
from jiti_deploy.destinations import Destination, Destinations
from jiti_deploy.errors import DeployError
from jiti_deploy.report import Outcome, Result

Where = tuple  # (account, region) as the plan names them (None: the current credentials')


def dependencies_in_run(deployments: list[Deployment]) -> dict[str, tuple[str, ...]]:
    """Each deployment's dependencies among this run's (others are taken as deployed),
    refusing cycles."""
    in_run = {d.address for d in deployments}
    deps = {d.address: tuple(x for x in d.plan.depends_on if x in in_run) for d in deployments}
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


class PrefixedLog:
    """Log lines of one deployment, prefixed with where it goes, whole lines at a time."""

    def __init__(self, log, lock: threading.Lock, prefix: str):
        self._log, self._lock, self._prefix = log, lock, prefix

    def __call__(self, message: str) -> None:
        with self._lock:
            for line in message.splitlines():
                self._log(f"[{self._prefix}] {line}")


class Batch:
    """Deploy everything that differs from what is live; one deployment's failure (or one
    account's) fails that deployment and skips its dependents, never the whole run."""

    def __init__(
        self,
        destinations: Destinations,
        deployments: list[Deployment],
        *,
        dry_run: bool,
        force: bool = False,
        max_parallel: int,
        log=print,
    ):
        self.destinations = destinations
        self.deployments = deployments
        self.dry_run = dry_run
        self.force = force
        self.max_parallel = max(1, max_parallel)
        self.log = log
        self.deps_of = dependencies_in_run(deployments)
        self._log_lock = threading.Lock()
        self.live: dict[tuple[Where, str], live.LiveStack | None] = {}

    def destination(self, d: Deployment) -> Destination:
        return self.destinations.get(d.plan.account, d.plan.region, d.role_to_assume)

    # -- phase 1: what is live, one read per account and region ----------------------------

    def read_live(self) -> None:
        """Where a batched read fails, each deployment there reads (and reports) for itself."""
        groups: dict[Where, list[Deployment]] = {}
        for d in self.deployments:
            groups.setdefault((d.plan.account, d.plan.region), []).append(d)
        for where, group in sorted(groups.items(), key=lambda item: str(item[0])):
            try:
                cfn = self.destination(group[0]).client("cloudformation")
                found = live.describe_all(cfn, {d.stack_name for d in group})
            except Exception:  # noqa: BLE001 - each deployment there reads and reports for itself
                continue
            self.live.update({(where, d.stack_name): found.get(d.stack_name) for d in group})

    # -- phase 2: deploy in dependency order, independent ones side by side ----------------

    def run(self) -> list[Outcome]:
        if not interrupt.requested():
            self.read_live()
        outcomes: dict[str, Outcome] = {}
        pending = {d.address: d for d in self.deployments}
        running: dict[Future, str] = {}
        with ThreadPoolExecutor(max_workers=self.max_parallel) as pool:
            while pending or running:
                for d in self._ready(pending, outcomes, slots=self.max_parallel - len(running)):
                    del pending[d.address]
                    if interrupt.requested():
                        outcomes[d.address] = self._outcome(
                            d, Result.INTERRUPTED, "-", time.monotonic(), "not started"
                        )
                    elif self._a_dependency_failed(d, outcomes):
                        outcomes[d.address] = self._outcome(
                            d, Result.SKIPPED, "-", time.monotonic()
                        )
                    else:
                        running[pool.submit(self.deploy_one, d)] = d.address
                if running:
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        outcomes[running.pop(future)] = future.result()
        return [outcomes[d.address] for d in self.deployments]

    def _ready(self, pending: dict, outcomes: dict, slots: int) -> list[Deployment]:
        """Pending deployments whose dependencies have all finished, at most `slots` of them."""
        ready = [
            d
            for address, d in sorted(pending.items())
            if all(dep in outcomes for dep in self.deps_of[address])
        ]
        return ready[: max(0, slots)]

    def _a_dependency_failed(self, d: Deployment, outcomes: dict[str, Outcome]) -> bool:
        return any(not outcomes[dep].result.ok for dep in self.deps_of[d.address])

    def deploy_one(self, d: Deployment) -> Outcome:
        started = time.monotonic()
        prefix = " ".join(filter(None, (d.stack_name, d.plan.account, d.plan.region)))
        log = PrefixedLog(self.log, self._log_lock, prefix)
        where = (d.plan.account, d.plan.region)
        before = self.live.get((where, d.stack_name), runner.NOT_LOOKED_UP)
        if before is runner.NOT_LOOKED_UP:
            old = "?"
        else:
            old = (before.tags.get(VERSION_TAG) or "none")[:12] if before else "none"
        try:
            result = runner.deploy(
                self.destination(d),
                d,
                dry_run=self.dry_run,
                force=self.force,
                log=log,
                current=before,
            )
        except interrupt.Interrupted as e:
            log(str(e))
            return self._outcome(d, Result.INTERRUPTED, old, started, str(e))
        except (DeployError, ClientError, BotoCoreError) as e:
            log(f"error: {e}")
            return self._outcome(d, Result.FAILED, old, started, str(e))
        except (
            Exception
        ) as e:  # noqa: BLE001 - one deployment's failure, whatever it is, is its own
            message = f"{type(e).__name__}: {e}"
            log(f"error: {message}")
            return self._outcome(d, Result.FAILED, old, started, message)
        return self._outcome(d, result, old, started)

    def _outcome(
        self, d: Deployment, result: Result, old: str, started: float, error: str | None = None
    ) -> Outcome:
        try:
            destination = self.destination(d)
            target, account, region = destination.kind, destination.account, destination.region
        except Exception:  # noqa: BLE001 - the row still says what it can
            target, account, region = "?", d.plan.account or "?", d.plan.region or "?"
        elapsed = round(time.monotonic() - started, 2)
        return Outcome(
            d.address,
            d.stack_name,
            target,
            account,
            region,
            result,
            old,
            d.version[:12],
            elapsed,
            error,
        )


def run(
    destinations: Destinations,
    deployments: list[Deployment],
    *,
    dry_run: bool,
    force: bool = False,
    max_parallel: int,
    log=print,
) -> list[Outcome]:
    return Batch(
        destinations, deployments, dry_run=dry_run, force=force, max_parallel=max_parallel, log=log
    ).run()
