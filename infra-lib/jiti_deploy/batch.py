"""Many deployments in one process: one batched read per account and region, then only what
differs, in dependency order, independent ones in parallel, with a summary at the end."""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict, deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from botocore.exceptions import BotoCoreError, ClientError

from jiti_deploy import hotswap, interrupt, live, runner
from jiti_deploy.deployment import Deployment
from jiti_deploy.destinations import Destination, Destinations
from jiti_deploy.errors import DeployError
from jiti_deploy.report import Outcome, Result


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
    """Log lines of one deployment, prefixed with where it goes, whole lines at a time.

    In a quiet run (many deployments), the first line is held back: a deployment that is up to
    date says nothing more, and its line is dropped, so 1,000 unchanged stacks are a progress
    line, not 1,000 lines. Any second line releases it."""

    def __init__(self, log, lock: threading.Lock, prefix: str, *, quiet: bool = False):
        self._log, self._lock, self._prefix = log, lock, prefix
        self._held: list[str] | None = [] if quiet else None

    def __call__(self, message: str) -> None:
        if self._held is not None and not self._held:
            self._held.append(message)
            return
        self.release()
        self._write(message)

    def release(self) -> None:
        held, self._held = self._held, None
        for message in held or ():
            self._write(message)

    def _write(self, message: str) -> None:
        with self._lock:
            for line in message.splitlines():
                self._log(f"[{self._prefix}] {line}")


class Progress:
    """Counts of finished deployments, as one line now and then in a quiet run."""

    def __init__(self, total: int, log, every_s: float = 2.0):
        self.total, self.log, self.every_s = total, log, every_s
        self.counts: Counter = Counter()
        self._last = time.monotonic()

    def add(self, outcome: Outcome) -> None:
        self.counts[outcome.result.value] += 1

    def line(self) -> str:
        done = sum(self.counts.values())
        parts = ", ".join(f"{n} {result}" for result, n in sorted(self.counts.items()))
        return f"[progress] {done}/{self.total} done" + (f": {parts}" if parts else "")

    def maybe_show(self) -> None:
        if time.monotonic() - self._last >= self.every_s:
            self._last = time.monotonic()
            self.log(self.line())


class Schedule:
    """Which deployments may start: those whose dependencies in the run have all finished,
    in address order."""

    def __init__(self, deps_of: dict[str, tuple[str, ...]]):
        self.outcomes: dict[str, Outcome] = {}
        self._waiting_on = {address: len(deps) for address, deps in deps_of.items()}
        self._dependents: dict[str, list[str]] = defaultdict(list)
        for address, deps in deps_of.items():
            for dep in deps:
                self._dependents[dep].append(address)
        self.ready = deque(sorted(a for a, n in self._waiting_on.items() if n == 0))

    def finish(self, address: str, outcome: Outcome) -> None:
        self.outcomes[address] = outcome
        for dependent in self._dependents[address]:
            self._waiting_on[dependent] -= 1
            if self._waiting_on[dependent] == 0:
                self.ready.append(dependent)


class Batch:
    """Deploy everything that differs from what is live; one deployment's failure (or one
    account's) fails that deployment and skips its dependents, never the whole run."""

    # Above this many deployments, a run shows progress lines and what changed, not every stack.
    QUIET_ABOVE = 20

    def __init__(
        self,
        destinations: Destinations,
        deployments: list[Deployment],
        *,
        dry_run: bool,
        force: bool = False,
        max_parallel: int,
        log=print,
        fail_on_replace: tuple[str, ...] = (),
        expected=None,
        hotswap_options: hotswap.Options = hotswap.Options(),
    ):
        self.destinations = destinations
        self.expected = expected  # the reviewed plan (`--expect-plan`)
        self.hotswap_options = hotswap_options
        self.deployments = deployments
        self.dry_run = dry_run
        self.force = force
        self.fail_on_replace = fail_on_replace
        self.max_parallel = max(1, max_parallel)
        self.log = log
        self.deps_of = dependencies_in_run(deployments)
        self.quiet = len(deployments) > self.QUIET_ABOVE
        self.progress = Progress(len(deployments), log)
        self._log_lock = threading.Lock()
        self.stacks = live.LiveStacks(destinations)

    def destination(self, d: Deployment) -> Destination:
        return self.destinations.get(d.plan.account, d.plan.region, d.role_to_assume)

    # -- phase 1: what is live, one read per account and region ----------------------------

    def read_live(self) -> None:
        """The run's stacks and the producers of their inputs. Where a batched read fails,
        each deployment there reads (and reports) for itself."""
        places = [d.place for d in self.deployments]
        places += [i.producer for d in self.deployments for i in d.plan.inputs if i.producer]
        self.stacks.read(places)

    # -- phase 2: deploy in dependency order, independent ones side by side ----------------

    def run(self) -> list[Outcome]:
        if not interrupt.requested():
            self.read_live()
        schedule = Schedule(self.deps_of)
        by_address = {d.address: d for d in self.deployments}
        running: dict[Future, str] = {}
        with ThreadPoolExecutor(max_workers=self.max_parallel) as pool:
            while schedule.ready or running:
                while schedule.ready and len(running) < self.max_parallel:
                    d = by_address[schedule.ready.popleft()]
                    settled = self._without_deploying(d, schedule.outcomes)
                    if settled:
                        self._finished(schedule, d.address, settled)
                    else:
                        running[pool.submit(self.deploy_one, d)] = d.address
                if running:
                    done, _ = wait(
                        running, timeout=self.progress.every_s, return_when=FIRST_COMPLETED
                    )
                    for future in done:
                        self._finished(schedule, running.pop(future), future.result())
                if self.quiet:
                    self.progress.maybe_show()
        if self.quiet:
            self.log(self.progress.line())
        return [schedule.outcomes[d.address] for d in self.deployments]

    def _finished(self, schedule: "Schedule", address: str, outcome: Outcome) -> None:
        schedule.finish(address, outcome)
        self.progress.add(outcome)

    def _without_deploying(self, d: Deployment, outcomes: dict[str, Outcome]) -> Outcome | None:
        """The outcome of a deployment that must not start: the run was interrupted, or a
        deployment it depends on failed."""
        if interrupt.requested():
            return self._outcome(d, Result.INTERRUPTED, "-", time.monotonic(), "not started")
        if self._a_dependency_failed(d, outcomes):
            return self._outcome(d, Result.SKIPPED, "-", time.monotonic())
        return None

    def _a_dependency_failed(self, d: Deployment, outcomes: dict[str, Outcome]) -> bool:
        return any(not outcomes[dep].result.ok for dep in self.deps_of[d.address])

    def deploy_one(self, d: Deployment) -> Outcome:
        started = time.monotonic()
        prefix = " ".join(filter(None, (d.stack_name, d.plan.account, d.plan.region)))
        log = PrefixedLog(self.log, self._log_lock, prefix, quiet=self.quiet)
        before = self.stacks.known(d.place)
        if before is live.NOT_LOOKED_UP:
            old = "?"
        else:
            old = (before.version or "none")[:12] if before else "none"
        outcome = self._deploy_and_report(d, log, before, old, started)
        if outcome.result is not Result.UP_TO_DATE:
            log.release()
        return outcome

    def _deploy_and_report(self, d: Deployment, log, before, old: str, started: float) -> Outcome:
        shown: list = []
        outputs: dict = {}
        try:
            result = runner.deploy(
                self.destination(d),
                d,
                dry_run=self.dry_run,
                force=self.force,
                log=log,
                current=before,
                fail_on_replace=self.fail_on_replace,
                change_sets=shown,
                stacks=self.stacks,
                expected=self.expected,
                outputs=outputs,
                hotswap_options=self.hotswap_options,
            )
            if result is Result.DEPLOYED:
                self.stacks.forget(d.place)  # its consumers in this run read its new outputs
        except interrupt.Interrupted as e:
            log(str(e))
            return self._outcome(d, Result.INTERRUPTED, old, started, str(e), shown)
        except runner.Blocked as e:
            log(f"error: {e}")
            return self._outcome(d, Result.BLOCKED, old, started, str(e), shown)
        except (DeployError, ClientError, BotoCoreError) as e:
            log(f"error: {e}")
            return self._outcome(d, Result.FAILED, old, started, str(e), shown)
        except Exception as e:  # noqa: BLE001 - whatever it is, it is this deployment's failure
            message = f"{type(e).__name__}: {e}"
            log(f"error: {message}")
            return self._outcome(d, Result.FAILED, old, started, message, shown)
        return self._outcome(d, result, old, started, None, shown, outputs)

    def _outcome(
        self,
        d: Deployment,
        result: Result,
        old: str,
        started: float,
        error: str | None = None,
        change_sets: list | None = None,
        outputs: dict | None = None,
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
            changes=[c.to_dict() for cs in change_sets or () for c in cs.changes],
            outputs=outputs or {},
            preview=d.preview_name,
        )


def run(
    destinations: Destinations,
    deployments: list[Deployment],
    *,
    dry_run: bool,
    force: bool = False,
    max_parallel: int,
    log=print,
    fail_on_replace: tuple[str, ...] = (),
    expected=None,
    hotswap_options: hotswap.Options = hotswap.Options(),
) -> list[Outcome]:
    return Batch(
        destinations,
        deployments,
        dry_run=dry_run,
        force=force,
        max_parallel=max_parallel,
        log=log,
        fail_on_replace=fail_on_replace,
        expected=expected,
        hotswap_options=hotswap_options,
    ).run()
