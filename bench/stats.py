"""Timing samples and the ratios reported from them."""

from __future__ import annotations

import os
import re
import resource
import statistics
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field

from jiti_aws_proxy import is_read

CHANGE_SET = "cloudformation:CreateChangeSet"


def log(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def load_average() -> str:
    """The machine's load average over 1, 5 and 15 minutes, as `uptime` gives it."""
    return ", ".join(f"{n:.2f}" for n in os.getloadavg())


def children_cpu() -> float:
    """CPU seconds (user + system) of this process's finished children: Pants and what it ran."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def describe_calls(counts: Counter) -> str:
    reads = sum(n for op, n in counts.items() if is_read(op))
    return f"{sum(counts.values())} calls ({reads} reads), {counts[CHANGE_SET]} change sets"


@dataclass
class Samples:
    """Wall times (seconds) of one measured thing, over several runs."""

    label: str
    times: list[float] = field(default_factory=list)

    def time(self, fn, *args, **kwargs):
        started = time.perf_counter()
        result = fn(*args, **kwargs)
        self.times.append(time.perf_counter() - started)
        return result

    @property
    def min(self) -> float:
        return min(self.times)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def cell(self) -> str:
        return f"{self.min:.2f} / {self.median:.2f} s (n={len(self.times)})"


def ratio(slow: Samples, fast: Samples) -> tuple[float, float]:
    """slow/fast, on the minimums and on the medians."""
    return slow.min / fast.min, slow.median / fast.median


def child_env(overrides: dict) -> dict:
    """This process's environment with `overrides`; a None value unsets the variable."""
    merged = {**os.environ, **overrides}
    return {k: v for k, v in merged.items() if v is not None}


class StepFailed(RuntimeError):
    """A command of the bench exited non-zero; its whole output is kept for diagnosis."""

    def __init__(self, command: list[str], result: subprocess.CompletedProcess):
        super().__init__(
            f"`{' '.join(command)}` exited {result.returncode}:\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
        self.stdout, self.stderr = result.stdout, result.stderr


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise StepFailed(command, result)
    return result


def pants_counters(stderr: str) -> dict[str, int]:
    """The counters Pants logs at the end of a run with `[stats].log` (pants.ci.toml sets it)."""
    _, found, block = stderr.partition("Counters:\n")
    if not found:
        raise RuntimeError(f"no counters in the Pants output:\n{stderr[-3000:]}")
    return {k: int(v) for k, v in re.findall(r"^  (\w+): (\d+)$", block, re.M)}
