"""The `start` row: what the jiti backend adds to every Pants start.

`./pants --no-pantsd --version` does no work beyond starting Pants, and a start without pantsd
builds Pants' whole rule graph (every backend's rules). Two copies of this repository's files are
timed side by side, one run of each in turn: as they are (jiti, and the linters this repository
uses), and with `pants.backend.python` alone (the config sections only the other backends know
taken out, or Pants stops at once with "Invalid section").
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

from bench.stats import Samples, child_env, children_cpu, load_average, run

PYTHON_ONLY_BACKENDS = 'backend_packages = ["pants.backend.python"]'
OTHER_BACKEND_SECTIONS = ("jiti", "lambdex")


def python_only(toml: str) -> str:
    """`pants.toml` with `pants.backend.python` as its only backend."""
    toml = re.sub(r"^backend_packages = \[.*?\]", PYTHON_ONLY_BACKENDS, toml, flags=re.M | re.S)
    toml = re.sub(r"^build_file_prelude_globs = .*\n", "", toml, flags=re.M)
    for section in OTHER_BACKEND_SECTIONS:
        toml = re.sub(rf"^\[{section}\]\n(?:(?!\[).*\n)*", "", toml, flags=re.M)
    return toml


def copy_tracked(source: Path, dest: Path) -> None:
    """The files git tracks in `source`, as they are in its work tree (edits included)."""
    listed = run(["git", "ls-files", "-z"], cwd=source).stdout.split("\0")
    for name in filter(None, listed):
        if (source / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / name, dest / name)


def variants(source: Path, work: Path) -> dict[str, Path]:
    jiti, python = work / "start-jiti", work / "start-python"
    for root in (jiti, python):
        copy_tracked(source, root)
    toml = python / "pants.toml"
    toml.write_text(python_only(toml.read_text()))
    return {"jiti": jiti, "python": python}


def pants_version(root: Path) -> float:
    """One `--no-pantsd --version`; returns the CPU seconds (user + system) it took."""
    before = children_cpu()
    result = run(
        ["./pants", "--no-pantsd", "--version"], cwd=root, env=child_env({"NO_COLOR": "1"})
    )
    if not result.stdout.strip():
        raise RuntimeError(f"`./pants --version` in {root} printed no version")
    return children_cpu() - before


def measure(source: Path, work: Path, runs: int) -> dict:
    """Wall and CPU seconds of each variant's start, interleaved; the first run of each
    (bootstrap, cold file caches) is not counted."""
    roots = variants(source, work)
    wall = {name: Samples(name) for name in roots}
    cpu = {name: Samples(name) for name in roots}
    for root in roots.values():
        pants_version(root)
    for _ in range(runs):
        for name, root in roots.items():
            started = time.perf_counter()
            cpu[name].times.append(pants_version(root))
            wall[name].times.append(time.perf_counter() - started)
    return {"wall": wall, "cpu": cpu, "load": load_average()}
