"""ci_scale: the CI command for a one-line change, at N apps, and what each app adds to it.

Each repository of N apps is deployed once to the local AWS; then, per run, one app's handler
gets a one-line change, committed, and the CI command runs without pantsd:

    ./pants --no-pantsd --changed-since=HEAD~1 --changed-dependents=transitive \
        test package deploy-stacks

It must deploy exactly one stack (one change set, counted at the proxy). Beside it, once per N,
the parts it is made of: Pants' start (`--version`), listing the changed targets, and listing
them with their transitive dependents (with and without jiti's targets in the repository).
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass, field

from jiti_aws_proxy import AwsProxy

from bench.monorepo import APP_BUILD, SHARED_LIBS, Monorepo, app_name, stop_process
from bench.stats import CHANGE_SET, children_cpu, load_average, log

CHANGED = ("--changed-since=HEAD~1",)
DEPENDENTS = (*CHANGED, "--changed-dependents=transitive")
CI_GOALS = ("test", "package", "deploy-stacks")
NO_PANTSD = "--no-pantsd"
PROJECTED_APPS = 10_000


@dataclass
class Timed:
    """Wall and CPU seconds (this process's children: Pants and what it runs) of runs."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def time(self, fn, *args, **kwargs):
        before, started = children_cpu(), time.perf_counter()
        result = fn(*args, **kwargs)
        self.wall.append(time.perf_counter() - started)
        self.cpu.append(children_cpu() - before)
        return result

    @property
    def median(self) -> float:
        return statistics.median(self.wall)

    def cell(self) -> str:
        return (
            f"{min(self.wall):.1f} / {self.median:.1f} s wall, "
            f"{statistics.median(self.cpu):.1f} CPU-s (n={len(self.wall)})"
        )


def sizes(args) -> tuple[int, ...]:
    return tuple(sorted(args.ci_apps or ((100, 300) if args.quick else (100, 1000))))


def measure(bench, aws_env) -> dict:
    """The rows for each size; the last line's values at the largest (`aws_env`: the
    environment that points Pants at an AWS endpoint, as the other deploy rows set it)."""
    found: dict[int, Timed] = {}
    for n in sizes(bench.args):
        repo = bench.repo(n)
        try:
            found[n] = _one_size(bench, repo, aws_env, library=n == max(sizes(bench.args)))
        finally:
            repo.stop_pantsd()
    bench.results["ci_scale"] = {str(n): {"wall": t.wall, "cpu": t.cpu} for n, t in found.items()}
    if len(found) < 2:
        return {"ci_one_line_s": max(found.items())[1].median}
    small, big = min(found), max(found)
    slope = (found[big].median - found[small].median) / (big - small)
    projected = found[big].median + slope * (PROJECTED_APPS - big)
    bench.row(
        f"CI command for a one-line change: each app beyond N={small} (N={small} to N={big})",
        f"{slope * 1000:.1f} ms per app",
        "-",
        f"projected at {PROJECTED_APPS:,} apps: {projected:.0f} s",
    )
    return {"ci_one_line_s": found[big].median, "ci_slope_ms_per_app": slope * 1000}


def _one_size(bench, repo: Monorepo, aws_env, library: bool) -> Timed:
    repo.pants("run", "infra-lib/jiti_deploy/local_aws:ctl", "--", "start")
    state = json.loads((repo.root / ".jiti/local-aws.json").read_text())
    try:
        with AwsProxy(state["endpoint"]) as proxy:
            env = aws_env(proxy.endpoint)
            _deploy_all(repo, env)
            _change(bench, repo, 0)  # warms the caches a CI runner keeps (pytest, runtime)
            repo.pants(NO_PANTSD, *DEPENDENTS, *CI_GOALS, env=env)
            proxy.take()
            ci = Timed()
            for r in range(bench.args.runs):
                _change(bench, repo, 1 + r)
                log(
                    f"CI command, one-line change, {repo.apps} apps, run {r + 1}, load {load_average()}"
                )
                ci.time(repo.pants, NO_PANTSD, *DEPENDENTS, *CI_GOALS, env=env)
                changes = proxy.take()[CHANGE_SET]
                if changes != 1:
                    raise RuntimeError(f"expected 1 change set, the CI command made {changes}")
            bench.row(
                f"CI command for a one-line change, {repo.apps} apps, no pantsd "
                f"(load {load_average()})",
                ci.cell(),
                "-",
                "1 deployment changed",
            )
            parts = _parts(bench, repo)
            if library:
                library_change(bench, repo, proxy, env)
            _parts_row(bench, repo, parts)
    finally:
        stop_process(state["pid"])
    return ci


def _deploy_all(repo: Monorepo, env: dict) -> None:
    """The first deploy of every app; once more if the local AWS dropped some under load (moto
    can fail a call when many run at once: the second run deploys only those)."""
    for attempt in (1, 2):
        log(f"first deploy of {repo.apps} apps, attempt {attempt}")
        try:
            repo.pants(NO_PANTSD, "--jiti-max-parallel=8", "deploy-stacks", "::", env=env)
            return
        except RuntimeError:
            if attempt == 2:
                raise


def library_change(bench, repo: Monorepo, proxy: AwsProxy, env: dict) -> None:
    """A change to the library a third of the apps share, pantsd warm: what packaging and
    synthesis cost, then what the deploy step adds (its Lambdas and stacks already built)."""
    lib = repo.root / "libs/shared0/greeting.py"
    lib.write_text(lib.read_text().replace("hello from", "hello again from"))
    bench.commit(repo, "a change to a shared library")
    reached = len(range(0, repo.apps, SHARED_LIBS))
    repo.pants(*CHANGED, "list")  # pantsd up, with the graph of this commit
    package, deploy = Timed(), Timed()
    log(f"library change reaching {reached} of {repo.apps} apps, load {load_average()}")
    package.time(repo.pants, *DEPENDENTS, "package", env=env)
    deploy.time(repo.pants, *DEPENDENTS, "deploy-stacks", env=env)
    changes = proxy.take()[CHANGE_SET]
    if changes != reached:
        raise RuntimeError(f"expected {reached} change sets, the library change made {changes}")
    repo.stop_pantsd()
    bench.results["ci_library_change"] = {
        "apps": repo.apps,
        "reached": reached,
        "package": [package.wall, package.cpu],
        "deploy_stacks": [deploy.wall, deploy.cpu],
    }
    bench.row(
        f"a shared library change reaching {reached} of {repo.apps} apps, pantsd warm: "
        f"`package` (Lambdas, synthesis), then `deploy-stacks` (load {load_average()})",
        f"{package.cell()} / {deploy.cell()}",
        "-",
        f"{reached} deployments changed",
    )


def _change(bench, repo: Monorepo, i: int) -> None:
    repo.edit_handler(i, revision=1)
    bench.commit(repo, f"a one-line change to {app_name(i)}")


def _parts(bench, repo: Monorepo) -> tuple[Timed, Timed, Timed, int]:
    """What the CI command is made of, one run each (the last change is still HEAD)."""
    start, changed, dependents = Timed(), Timed(), Timed()
    start.time(repo.pants, NO_PANTSD, "--version")
    changed.time(repo.pants, NO_PANTSD, *CHANGED, "list")
    listed = dependents.time(repo.pants, NO_PANTSD, *DEPENDENTS, "list").stdout.split()
    return start, changed, dependents, len(listed)


def _parts_row(bench, repo: Monorepo, parts: tuple[Timed, Timed, Timed, int]) -> None:
    """The parts, and the dependents again with the stacks and deployments removed."""
    start, changed, dependents, listed = parts
    _without_jiti_targets(bench, repo)
    bare = Timed()
    bare_listed = bare.time(repo.pants, NO_PANTSD, *DEPENDENTS, "list").stdout.split()
    bench.results.setdefault("ci_parts", {})[str(repo.apps)] = {
        "version": start.wall,
        "changed_list": changed.wall,
        "dependents_list": dependents.wall,
        "dependents_list_without_jiti_targets": bare.wall,
        "cpu": [start.cpu, changed.cpu, dependents.cpu, bare.cpu],
    }
    bench.row(
        f"parts of it, {repo.apps} apps: `--version` / `--changed-since list` / "
        f"with `--changed-dependents=transitive` ({listed} targets) / the same "
        f"without stacks and deployments ({len(bare_listed)} targets)",
        " / ".join(t.cell() for t in (start, changed, dependents)),
        bare.cell(),
        f"dependents add {dependents.median - changed.median:.1f} s, "
        f"{bare.median - changed.median:.1f} s without jiti's targets",
    )


def _without_jiti_targets(bench, repo: Monorepo) -> None:
    """Every app without its stack and deployment, then a one-line change on top."""
    plain = APP_BUILD[: APP_BUILD.index("cloudformation_stack")]
    for i in range(repo.apps):
        (repo.root / f"apps/{app_name(i)}/BUILD").write_text(plain)
    bench.commit(repo, "no stacks or deployments")
    _change(bench, repo, repo.apps - 1)
