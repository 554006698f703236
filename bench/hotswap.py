"""The `hotswap` row: a handler edit made live by `deploy-stacks --jiti-hotswap`, against a full
`deploy-stacks` of the same kind of edit, side by side, pantsd warm, every AWS call made
`--latency-ms` longer by the proxy; and with `--loop`, the time from the file write to the
update being done."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import time

from bench.monorepo import Monorepo, app_name
from bench.stats import Samples, child_env, ratio

SPEC = f"apps/{app_name(0)}:deploy"
DONE = " deployments in "  # the runtime's last line of a run


def result(repo: Monorepo) -> str:
    (row,) = json.loads((repo.root / "dist/jiti-deploy-report.json").read_text())["deployments"]
    return row["result"]


def timed_deploy(repo: Monorepo, samples: Samples, env: dict, expected: str, *flags: str) -> None:
    samples.time(repo.pants, "deploy-stacks", *flags, SPEC, env=env)
    if result(repo) != expected:
        raise RuntimeError(f"expected {SPEC} {expected}, got {result(repo)}")


class Loop:
    """`./pants --loop deploy-stacks --jiti-hotswap` running, its output read line by line."""

    def __init__(self, repo: Monorepo, env: dict):
        command = ["./pants", "--no-dynamic-ui", f"--local-store-dir={repo.store}", "--loop"]
        self.process = subprocess.Popen(
            [*command, "deploy-stacks", "--jiti-hotswap", SPEC],
            cwd=repo.root,
            env=child_env({"NO_COLOR": "1", **env}),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def next_run(self, timeout_s: float) -> list[str]:
        """The lines up to the end of the next run of the goal."""
        seen, deadline = [], time.monotonic() + timeout_s
        while True:
            try:
                line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise RuntimeError("--loop did not redeploy:\n" + "\n".join(seen[-30:])) from None
            seen.append(line)
            if DONE in line:
                return seen

    def stop(self) -> None:
        """Ctrl-C, as a user ends it (the process group is this loop's own)."""
        try:
            os.killpg(self.process.pid, signal.SIGINT)
            self.process.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            self.process.kill()


def loop_times(repo: Monorepo, env: dict, revisions: range) -> Samples:
    samples = Samples("--loop: write to hotswapped")
    loop = Loop(repo, env)
    try:
        loop.next_run(timeout_s=600)  # the first run, at once
        for revision in revisions:
            started = time.perf_counter()
            repo.edit_handler(0, revision)
            lines = loop.next_run(timeout_s=120)
            samples.times.append(time.perf_counter() - started)
            if not any("hotswapped" in line for line in lines):
                raise RuntimeError("--loop did not hotswap:\n" + "\n".join(lines[-30:]))
    finally:
        loop.stop()
    return samples


def measure(bench, repo: Monorepo, proxy, env: dict) -> float:
    """Hotswap vs full deploy of one handler edit, then the same edit with `--loop`."""
    runs, latency = bench.args.runs, bench.args.latency_ms / 1000
    swap, full = Samples("hotswap"), Samples("full deploy")
    calls = {}
    proxy.latency_s = latency
    try:
        for r in range(runs):
            repo.edit_handler(0, 100 + 2 * r)
            proxy.take()
            timed_deploy(repo, swap, env, "hotswapped", "--jiti-hotswap")
            calls["hotswap"] = sum(proxy.take().values())
            repo.pants("deploy-stacks", SPEC, env=env)  # reconciled, untimed
            repo.edit_handler(0, 101 + 2 * r)
            proxy.take()
            timed_deploy(repo, full, env, "deployed")
            calls["full"] = sum(proxy.take().values())
        looped = loop_times(repo, env, range(200, 200 + runs))
    finally:
        proxy.latency_s = 0.0
    bench.results["hotswap"] = {
        "hotswap": swap.times,
        "full": full.times,
        "loop": looped.times,
        "calls": calls,
        "latency_ms": bench.args.latency_ms,
    }
    by_min, by_median = ratio(full, swap)
    bench.row(
        f"handler edit made live, +{bench.args.latency_ms:.0f} ms per AWS call (pantsd warm): "
        "`deploy-stacks --jiti-hotswap` vs full `deploy-stacks`; `--loop`: write to done",
        f"{swap.cell()}; {calls['hotswap']} calls; `--loop` {looped.cell()}",
        f"{full.cell()}; {calls['full']} calls",
        f"{by_median:.1f}x faster (min {by_min:.1f}x)",
    )
    return by_median
