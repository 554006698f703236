"""jiti's benchmarks: speed against what a user would use instead, measured side by side.

    ./pants run bench:bench -- --quick     # under 10 minutes on 2 cores
    ./pants run bench:bench                # everything, more runs, N = 100 cold builds too

Each measurement runs both sides in the same session, on synthetic monorepos generated from
this repository's plugin and infra-lib, against the embedded local AWS (behind a proxy that
counts API calls). Results go to bench/out/results.{md,json}; the last line printed is
`noop_speedup=<x> incremental_ratio=<x> parallel_speedup=<x> remote_cache_ratio=<x>
cold_s_per_app=<x> scale_ratio=<x> preview_speedup=<x> hotswap_speedup=<x> ci_one_line_s=<x>
ci_slope_ms_per_app=<x> start_overhead_s=<x>` (ratios of medians;
seconds each app adds to a cold `package ::`; the time of a no-op `deploy-stacks` of 1,000
deployments over that of 20; deploying a whole environment of `--fleet` deployments under a new
name over a preview of one changed app; a full deploy of a handler edit over its hotswap; the CI
command for a one-line change at the largest `ci_scale` size, and what each app adds to it;
the seconds jiti adds to a Pants start, median wall time).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
from collections import Counter
from pathlib import Path

import botocore.session
from jiti_aws_proxy import AwsProxy

from bench import cdk, ci_scale, hotswap, plan, start
from bench.monorepo import FLEET_TEMPLATE, Monorepo, app_name, generate, stop_process
from bench.stats import Samples, child_env, describe_calls, log, pants_counters, ratio, run

MEASUREMENTS = (
    "package",
    "noop",
    "parallel",
    "scale",
    "plan",
    "incremental",
    "remote_cache",
    "cdk",
    "preview",
    "hotswap",
    "ci_scale",
    "start",
)
CI_CONFIG = {"PANTS_CONFIG_FILES": "pants.ci.toml"}


def find_build_root() -> Path:
    here = Path.cwd().resolve()
    for path in (here, *here.parents):
        if (path / "pants.toml").is_file() and (path / "pants-plugins/jiti").is_dir():
            return path
    sys.exit("error: run the benchmarks from the jiti repository (./pants run bench:bench)")


def aws_env(endpoint: str) -> dict:
    """Point both tools at `endpoint` with the local AWS's credentials, nothing else (jiti
    deploys there as to any AWS endpoint: `[jiti].target = "aws"`)."""
    env = {k: None for k in os.environ if k.startswith(("AWS_", "PANTS_JITI_")) or k == "CI"}
    env.update(
        PANTS_JITI_TARGET="aws",
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="jiti-local",
        AWS_SECRET_ACCESS_KEY="jiti-local",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.source = find_build_root()
        self.work = Path(args.workdir or tempfile.mkdtemp(prefix="jiti-bench-"))
        self.rows: list[tuple[str, str, str, str]] = []
        self.results: dict = {}
        self.repos: list[Monorepo] = []

    def repo(self, apps: int) -> Monorepo:
        log(f"generating a monorepo of {apps} apps")
        repo = generate(self.source, self.work / f"apps{apps}", apps, self.work / f"store{apps}")
        self.repos.append(repo)
        return repo

    def row(self, measurement: str, jiti: str, other: str, result: str) -> None:
        self.rows.append((measurement, jiti, other, result))
        log(f"{measurement}: jiti {jiti} | other {other} | {result}")

    # --- 3. cold and warm `package ::` ------------------------------------------------------

    def package_all(self, repo: Monorepo) -> None:
        n, runs = repo.apps, self.args.runs
        cold, warm = Samples(f"cold N={n}"), Samples(f"warm N={n}")
        for r in range(self.args.cold_runs):
            repo.stop_pantsd()
            repo.store = self.work / f"store{n}-cold{r}"  # an empty local store
            log(f"cold `package ::` of {n} apps, run {r + 1}")
            cold.time(repo.pants, "package", "::")
        for r in range(runs):
            warm.time(repo.pants, "package", "::")
        self.results[f"package_N{n}"] = {"cold": cold.times, "warm": warm.times}
        self.row(
            f"`package ::`, N={n} (cold / warm pantsd)",
            f"{cold.cell()} / {warm.cell()}",
            "-",
            f"cold {cold.median / n:.2f} s per app",
        )

    # --- 1. no-op deploy --------------------------------------------------------------------

    def awscli_deploy(self, repo: Monorepo, stacks: dict, env: dict, templates: Path) -> None:
        """`aws cloudformation deploy` of each stack's template, as a script would do it (the
        template the stack carries: the packaged one, with the outputs jiti records)."""
        for i in range(repo.apps):
            name = f"{app_name(i)}-dev"
            stack = stacks[name]
            result = run(
                [
                    sys.executable,
                    "-m",
                    "awscli",
                    "cloudformation",
                    "deploy",
                    "--template-file",
                    str(templates / f"{name}.json"),
                    "--stack-name",
                    name,
                    "--capabilities",
                    "CAPABILITY_IAM",
                    "CAPABILITY_NAMED_IAM",
                    "--no-fail-on-empty-changeset",
                    "--parameter-overrides",
                    *(f"{p['ParameterKey']}={p['ParameterValue']}" for p in stack["Parameters"]),
                    "--tags",
                    *(f"{t['Key']}={t['Value']}" for t in stack["Tags"]),
                ],
                env=child_env(env),
            )
            if "No changes to deploy" not in result.stdout:
                raise RuntimeError(f"aws cloudformation deploy changed {name}:\n{result.stdout}")

    def noop_deploy(self, repo: Monorepo, proxy: AwsProxy, env: dict) -> float:
        runs = self.args.runs
        cfn = botocore.session.get_session().create_client(
            "cloudformation",
            region_name="us-east-1",
            endpoint_url=env["AWS_ENDPOINT_URL"],
            aws_access_key_id="jiti-local",
            aws_secret_access_key="jiti-local",
        )
        pages = cfn.get_paginator("describe_stacks").paginate()  # 50 stacks a page here
        stacks = {s["StackName"]: s for page in pages for s in page["Stacks"]}
        templates = Path(tempfile.mkdtemp(prefix="jiti-bench-templates-"))
        for name in stacks:
            body = cfn.get_template(StackName=name)["TemplateBody"]
            (templates / f"{name}.json").write_text(
                body if isinstance(body, str) else json.dumps(body)
            )
        proxy.take()

        batch, each, awscli = Samples("deploy-stacks"), Samples("experimental"), Samples("aws")
        calls: dict[str, Counter] = {}
        for r in range(runs):
            log(f"no-op deploy of {repo.apps} stacks, run {r + 1}/{runs}")
            batch.time(repo.pants, "deploy-stacks", "::", env=env)
            calls["deploy-stacks"] = proxy.take()
            if r < self.args.secondary_runs:
                each.time(repo.pants, "experimental-deploy", "::", env=env)
                calls["experimental-deploy"] = proxy.take()
            awscli.time(self.awscli_deploy, repo, stacks, env, templates)
            calls["awscli"] = proxy.take()
        self.results["noop"] = {
            "deploy_stacks": batch.times,
            "experimental_deploy": each.times,
            "awscli": awscli.times,
            "calls": {k: dict(v) for k, v in calls.items()},
        }
        for label, samples, key in (
            ("deploy-stacks", batch, "deploy-stacks"),
            ("experimental-deploy", each, "experimental-deploy"),
        ):
            by_min, by_median = ratio(awscli, samples)
            self.row(
                f"no-op deploy of {repo.apps} stacks: jiti `{label}` vs `aws cloudformation deploy`",
                f"{samples.cell()}; {describe_calls(calls[key])}",
                f"{awscli.cell()}; {describe_calls(calls['awscli'])}",
                f"{by_median:.1f}x faster (min {by_min:.1f}x)",
            )
        return ratio(awscli, batch)[1]

    # --- scale: many deployments of one stack ---------------------------------------------

    def write_fleet(self, repo: Monorepo, name: str, size: int) -> str:
        """`size` deployments of one plain stack, half in each of two regions; no app needs
        packaging, so this measures deploying, not building."""
        lines = [f'cloudformation_stack(name="stack", source="template.json", app="{name}")']
        lines += [
            f'cloudformation_deployment(name="d{i:04d}", stack=":stack", '
            f'stack_name="{name}-{i:04d}-{{env}}", region="{("us-east-1", "eu-west-1")[i % 2]}")'
            for i in range(size)
        ]
        (repo.root / name).mkdir(exist_ok=True)
        (repo.root / name / "BUILD").write_text("\n".join(lines) + "\n")
        (repo.root / name / "template.json").write_text(json.dumps(FLEET_TEMPLATE))
        return f"{name}:"

    def scale(self, repo: Monorepo, proxy: AwsProxy, env: dict) -> float:
        small, big = self.args.fleet_small, self.args.fleet
        specs = {n: self.write_fleet(repo, f"fleet{n}", n) for n in (small, big)}
        for n, spec in specs.items():
            log(f"first deploy of a fleet of {n} deployments")
            repo.pants("--jiti-max-parallel=8", "deploy-stacks", spec, env=env)
        proxy.take()
        samples = {n: Samples(f"fleet{n}") for n in specs}
        calls = {}
        for r in range(self.args.runs):
            for n, spec in specs.items():
                log(f"no-op deploy-stacks of {n} deployments, run {r + 1}/{self.args.runs}")
                result = samples[n].time(repo.pants, "deploy-stacks", spec, env=env)
                calls[n] = proxy.take()
                lines = result.stdout.splitlines()
        self.results["scale"] = {
            str(n): {"times": s.times, "calls": dict(calls[n])} for n, s in samples.items()
        }
        by_min, by_median = ratio(samples[big], samples[small])
        self.row(
            f"no-op `deploy-stacks` of {big} deployments (2 regions) vs {small}",
            f"{samples[big].cell()}; {describe_calls(calls[big])}; {len(lines)} lines of output",
            f"{samples[small].cell()}; {describe_calls(calls[small])}",
            f"{by_median:.2f}x the time for {big // small}x the stacks (min {by_min:.2f}x)",
        )
        return by_median

    # --- plan: see plan.py ----------------------------------------------------------------

    def commit(self, repo: Monorepo, message: str) -> None:
        repo.git("add", "-A")
        repo.git(
            "-c", "user.name=bench", "-c", "user.email=b@example.invalid", "commit", "-qm", message
        )

    log = staticmethod(log)
    describe_calls = staticmethod(describe_calls)

    # --- preview: one changed app's copy, against a whole environment's ---------------------

    def preview(self, repo: Monorepo, proxy: AwsProxy, env: dict) -> float:
        """A `dev` environment of `--fleet` deployments (the apps and a fleet): a pull request's
        preview of one changed app, against deploying the whole environment under a new name."""
        self.write_fleet(repo, "previewfleet", self.args.fleet - repo.apps)
        repo.git("add", "-A")
        repo.git(
            "-c", "user.name=b", "-c", "user.email=b@example.invalid", "commit", "-qm", "fleet"
        )
        log(f"deploying the dev environment of {self.args.fleet} deployments")
        repo.pants("--jiti-max-parallel=8", "deploy-stacks", "::", env=env)
        total = len(self.deployed(repo, None))
        proxy.take()
        one, whole = Samples("preview of one changed app"), Samples(f"{total} stacks, new name")
        changed = ("--changed-since=HEAD", "--changed-dependents=transitive")
        for r in range(self.args.runs):
            repo.edit_handler(0, 100 + r)
            log(f"preview pr-{r} of one changed app, run {r + 1}")
            one.time(repo.pants, f"--jiti-preview=pr-{r}", *changed, "deploy-stacks", env=env)
            if self.deployed(repo, f"pr-{r}") != [f"{app_name(0)}-pr-{r}"]:
                raise RuntimeError(f"expected one preview stack, got {self.deployed(repo, None)}")
            if r < self.args.secondary_runs:
                log(f"the whole dev environment as `full-{r}`, run {r + 1}")
                new_name = (f"--jiti-preview=full-{r}", "--jiti-max-parallel=8", "deploy-stacks")
                whole.time(repo.pants, *new_name, "::", env=env)
                if len(self.deployed(repo, f"full-{r}")) != total:
                    raise RuntimeError(f"expected {total} stacks deployed as full-{r}")
        self.results["preview"] = {"one_changed_app": one.times, "whole": whole.times}
        by_min, by_median = ratio(whole, one)
        self.row(
            f"preview of 1 changed app in a repository of {total} `dev` deployments vs the "
            "whole environment under a new name (`max_parallel=8`)",
            f"{one.cell()}; 1 stack",
            f"{whole.cell()}; {total} stacks",
            f"{by_median:.1f}x faster (min {by_min:.1f}x)",
        )
        return by_median

    @staticmethod
    def deployed(repo: Monorepo, preview: str | None) -> list[str]:
        """The stacks the last `deploy-stacks` deployed (of `preview`, if given)."""
        report = json.loads((repo.root / "dist/jiti-deploy-report.json").read_text())
        return sorted(
            d["stack"]
            for d in report["deployments"]
            if d["result"] == "deployed" and (preview is None or d.get("preview") == preview)
        )

    # --- 4. parallel deploy -----------------------------------------------------------------

    def parallel_deploy(self, repo: Monorepo, proxy: AwsProxy, env: dict) -> float:
        """Deploy every stack changed, one at a time and 8 at a time; with the local AWS as it
        is, and with every call taking `--latency-ms` longer, as AWS calls do. Timed twice: the
        whole command, and the deploy phase (the deploy runtime's own time, from its report)."""
        latencies = (0.0, self.args.latency_ms / 1000)
        keys = [(lat, p) for lat in latencies for p in (1, 8)]
        whole = {k: Samples(f"max_parallel={k[1]}, +{k[0]}s") for k in keys}
        phase = {k: Samples(f"deploy phase, max_parallel={k[1]}, +{k[0]}s") for k in keys}
        memory = iter([256, 128] * len(keys) * self.args.runs)
        for r in range(self.args.runs):
            for latency, parallel in keys:
                if not latency and r >= self.args.secondary_runs:
                    continue
                log(
                    f"deploy of {repo.apps} changed stacks, max_parallel={parallel}, "
                    f"+{latency * 1000:.0f} ms per call, run {r + 1}"
                )
                repo.set_memory(next(memory))
                repo.pants("package", "::")  # synthesis is not what is measured here
                proxy.latency_s = latency
                try:
                    whole[(latency, parallel)].time(
                        repo.pants,
                        f"--jiti-max-parallel={parallel}",
                        "deploy-stacks",
                        "::",
                        env=env,
                    )
                finally:
                    proxy.latency_s = 0.0
                report = json.loads((repo.root / "dist/jiti-deploy-report.json").read_text())
                results = Counter(d["result"] for d in report["deployments"])
                if results.get("deployed") != repo.apps:
                    raise RuntimeError(f"expected {repo.apps} stacks deployed, got {dict(results)}")
                phase[(latency, parallel)].times.append(report["elapsed_s"])
        self.results["parallel"] = {s.label: s.times for s in [*whole.values(), *phase.values()]}
        speedup = 0.0
        for latency in latencies:
            one, eight = (latency, 1), (latency, 8)
            whole_ratio = ratio(whole[one], whole[eight])[1]
            by_min, speedup = ratio(phase[one], phase[eight])
            self.row(
                f"deploy of {repo.apps} changed stacks, +{latency * 1000:.0f} ms per AWS call: "
                "`max_parallel=8` vs 1 (deploy phase; whole command)",
                f"{phase[eight].cell()}; {whole[eight].cell()}",
                f"{phase[one].cell()}; {whole[one].cell()}",
                f"{speedup:.1f}x faster (min {by_min:.1f}x); whole command {whole_ratio:.1f}x",
            )
        return speedup

    # --- 2. incremental package -------------------------------------------------------------

    def incremental(self, big: Monorepo, small: Monorepo) -> float:
        changed = ("--changed-since=HEAD", "--changed-dependents=transitive", "package")
        samples = {big: Samples(f"N={big.apps}"), small: Samples(f"N={small.apps}")}
        for repo in (big, small):  # warm pantsd, with the graph loaded
            log(f"warming pantsd in the {repo.apps}-app repo")
            repo.edit_handler(0, 1)
            repo.pants(*changed)
        for r in range(self.args.runs):
            for repo, s in samples.items():
                repo.edit_handler(0, r + 2)
                s.time(repo.pants, *changed)
        self.results["incremental"] = {str(k.apps): v.times for k, v in samples.items()}
        by_min, by_median = ratio(samples[big], samples[small])
        self.row(
            f"package 1 changed app: {big.apps}-app repo vs {small.apps}-app repo (pantsd warm)",
            samples[big].cell(),
            samples[small].cell(),
            f"ratio {by_median:.2f} (min {by_min:.2f})",
        )
        return by_median

    # --- 5. `cdk synth` --------------------------------------------------------------------

    def cdk_synth(self, repo: Monorepo) -> None:
        command = cdk.install(Path.home() / ".cache/jiti/bench-cdk", log)
        title = f"`cdk synth` of {repo.apps} equivalent stacks vs jiti `package ::`"
        if command is None:
            self.row(title, "-", "-", "not measured: npm is not installed")
            return
        app = cdk.write_app(self.work, repo.root, repo.apps)
        warm, changed, synth = Samples("warm"), Samples("all changed"), Samples("cdk")
        for r in range(self.args.runs):
            log(f"cdk synth and jiti package of {repo.apps} stacks, run {r + 1}")
            synth.time(cdk.synth, command, app)
            warm.time(repo.pants, "package", "::")
            repo.set_memory(1024 + 64 * r)  # a value not synthesized before: no cache hit
            changed.time(repo.pants, "package", "::")
        self.results["cdk"] = {
            "cdk_synth": synth.times,
            "warm": warm.times,
            "changed": changed.times,
        }
        for label, samples in (("nothing changed", warm), ("every stack changed", changed)):
            by_min, by_median = ratio(synth, samples)
            self.row(
                f"{title} ({label})",
                samples.cell(),
                synth.cell(),
                f"{by_median:.1f}x faster (min {by_min:.1f}x)",
            )

    # --- 6. a shared remote cache ---------------------------------------------------------

    def remote_cache(self, repo: Monorepo) -> float:
        """Cold `package ::` on a new CI runner (a fresh clone, empty local store and named
        caches, no pantsd, pants.ci.toml), first with an empty shared cache, which it fills,
        then on another new runner with that cache warm. Cache hits are checked on Pants' own
        counters, so a ratio is never reported for a run that missed."""
        n = repo.apps
        empty, warm = Samples(f"empty cache N={n}"), Samples(f"warm cache N={n}")
        counts: dict[str, dict] = {}
        for r in range(self.args.cold_runs):
            state = self.work / f"cache-server-N{n}-{r}"  # a new, empty cache each run
            log(f"starting a cache server (BuildGrid), run {r + 1}")
            repo.pants(
                "run", "infra-lib/jiti_cache:ctl", "--", "start", "--port=0", f"--state-dir={state}"
            )
            server = json.loads((state / "cache-server.json").read_text())
            try:
                for side, samples in (("empty", empty), ("warm", warm)):
                    runner = repo.clone(
                        self.work / f"runner-N{n}-{r}-{side}", self.work / f"store-N{n}-{r}-{side}"
                    )
                    log(f"cold `package ::` of {n} apps on a new runner, {side} shared cache")
                    result = samples.time(
                        runner.pants,
                        "--no-pantsd",
                        f"--named-caches-dir={self.work / f'named-N{n}-{r}-{side}'}",
                        f"--remote-store-address={server['address']}",
                        "package",
                        "::",
                        env=CI_CONFIG,
                    )
                    counts[side] = pants_counters(result.stderr)
            finally:
                stop_process(server["pid"])
            wrote, read = counts["empty"], counts["warm"]
            uploaded, hits = (
                wrote["remote_cache_write_successes"],
                read["remote_cache_requests_cached"],
            )
            if not uploaded or uploaded != wrote["remote_cache_write_attempts"]:
                raise RuntimeError(f"the first runner did not fill the cache: {wrote}")
            if not hits or hits != read["remote_cache_requests"]:
                raise RuntimeError(f"the second runner missed the cache: {read}")
        self.results[f"remote_cache_N{n}"] = {
            "empty": empty.times,
            "warm": warm.times,
            "counters": counts,
        }
        by_min, by_median = ratio(warm, empty)
        self.row(
            f"cold `package ::` of {n} apps on a new CI runner: warm shared cache vs empty "
            "(fresh clone, empty local store and named caches)",
            f"{warm.cell()}; {read['remote_cache_requests_cached']} of "
            f"{read['remote_cache_requests']} steps from the cache",
            f"{empty.cell()}; {wrote['remote_cache_write_successes']} steps uploaded",
            f"ratio {by_median:.2f} (min {by_min:.2f})",
        )
        return by_median

    # --- all of it --------------------------------------------------------------------------

    def run(self) -> str:
        only, n = self.args.only, self.args.apps
        log(
            f"work dir {self.work}; {'quick' if self.args.quick else 'full'} run: {', '.join(only)}"
        )
        found = {
            "noop_speedup": None,
            "incremental_ratio": None,
            "parallel_speedup": None,
            "remote_cache_ratio": None,
            "cold_s_per_app": None,
            "scale_ratio": None,
            "preview_speedup": None,
            "hotswap_speedup": None,
            "ci_one_line_s": None,
            "ci_slope_ms_per_app": None,
            "start_overhead_s": None,
        }
        if {"package", "noop", "parallel", "scale", "plan", "cdk", "remote_cache", "preview"} & set(
            only
        ):
            repo = self.repo(n)
            if "package" in only:
                self.package_all(repo)
            elif {"noop", "parallel", "cdk"} & set(only):
                repo.pants("package", "::")
            if {"noop", "parallel", "scale", "plan", "preview"} & set(only):
                found.update(self.deploys(repo, only))
            if "cdk" in only:
                self.cdk_synth(repo)
            if "remote_cache" in only and self.args.quick:
                found["remote_cache_ratio"] = self.remote_cache(repo)
            repo.stop_pantsd()
        if {"incremental", "package", "remote_cache"} & set(only):
            big, small = self.repo(100), self.repo(1)
            if "incremental" in only:
                found["incremental_ratio"] = self.incremental(big, small)
            small.stop_pantsd()
            if "package" in only:
                self.package_all(small)  # the fixed cost, against which the per-app cost shows
                if not self.args.quick:
                    self.package_all(big)
            if "remote_cache" in only and not self.args.quick:
                found["remote_cache_ratio"] = self.remote_cache(big)
            big.stop_pantsd()
        if "hotswap" in only:
            found["hotswap_speedup"] = self.hotswap()
        if "ci_scale" in only:
            found.update(ci_scale.measure(self, aws_env))
        if "start" in only:
            found["start_overhead_s"] = self.start()
        found["cold_s_per_app"] = self.growth_rows()
        return " ".join(f"{k}={'n/a' if v is None else f'{v:.2f}'}" for k, v in found.items())

    def deploys(self, repo: Monorepo, only: list[str]) -> dict:
        log("starting the local AWS")
        repo.pants("run", "infra-lib/jiti_deploy/local_aws:ctl", "--", "start")
        state = json.loads((repo.root / ".jiti/local-aws.json").read_text())
        found = {}
        try:
            with AwsProxy(state["endpoint"]) as proxy:
                env = aws_env(proxy.endpoint)
                if {"noop", "parallel", "plan"} & set(only):
                    log(f"first deploy of {repo.apps} stacks (deploy-stacks)")
                    repo.pants("deploy-stacks", "::", env=env)
                proxy.take()
                if "noop" in only:
                    found["noop_speedup"] = self.noop_deploy(repo, proxy, env)
                if "parallel" in only:
                    found["parallel_speedup"] = self.parallel_deploy(repo, proxy, env)
                if "scale" in only:
                    found["scale_ratio"] = self.scale(repo, proxy, env)
                if "plan" in only:
                    plan.review_one(self, repo, proxy, env)
                    plan.versus_cdk_diff(self, repo, proxy, env)
                if "preview" in only:
                    found["preview_speedup"] = self.preview(repo, proxy, env)
        finally:
            stop_process(state["pid"])
        return found

    def hotswap(self) -> float:
        """A one-app repository of its own, deployed once, then the `hotswap` row."""
        log("generating a one-app monorepo for the hotswap row")
        repo = generate(self.source, self.work / "hotswap", 1, self.work / "store-hotswap")
        self.repos.append(repo)
        repo.pants("run", "infra-lib/jiti_deploy/local_aws:ctl", "--", "start")
        state = json.loads((repo.root / ".jiti/local-aws.json").read_text())
        try:
            with AwsProxy(state["endpoint"]) as proxy:
                env = aws_env(proxy.endpoint)
                repo.pants("deploy-stacks", hotswap.SPEC, env=env)  # the stack, and pantsd warm
                return hotswap.measure(self, repo, proxy, env)
        finally:
            stop_process(state["pid"])
            repo.stop_pantsd()

    def start(self) -> float:
        """`--no-pantsd --version` with jiti against `pants.backend.python` alone; returns
        the seconds jiti adds (median wall time)."""
        runs = 3 if self.args.quick else 5
        log(f"Pants start with and without jiti, {runs} runs each")
        found = start.measure(self.source, self.work, runs)
        wall, cpu = found["wall"], found["cpu"]
        self.results["start"] = {
            "wall": {k: v.times for k, v in wall.items()},
            "cpu": {k: v.times for k, v in cpu.items()},
            "load": found["load"],
        }
        added = wall["jiti"].median - wall["python"].median
        self.row(
            "Pants start (`--no-pantsd --version`): jiti's repository vs `pants.backend.python` alone",
            f"{wall['jiti'].cell()}; {cpu['jiti'].median:.2f} CPU-s",
            f"{wall['python'].cell()}; {cpu['python'].median:.2f} CPU-s",
            f"+{added:.2f} s wall, +{cpu['jiti'].median - cpu['python'].median:.2f} CPU-s"
            f" (medians; load {found['load']})",
        )
        return added

    def growth_rows(self) -> float | None:
        """What each app adds to a cold build, from the smallest repository to each larger
        one; returns the slope to the largest."""
        sizes = sorted(
            int(k[len("package_N") :]) for k in self.results if k.startswith("package_N")
        )
        cold = {n: statistics.median(self.results[f"package_N{n}"]["cold"]) for n in sizes}
        per_app, small = None, sizes[0] if sizes else 0
        for big in sizes[1:]:
            per_app = (cold[big] - cold[small]) / (big - small)
            self.row(
                f"cold `package ::`: cost of each app beyond the first (N={small} to N={big})",
                f"{per_app:.2f} s per app",
                "-",
                f"fixed cost {cold[small] - small * per_app:.0f} s",
            )
        return per_app

    def save_failure(self, error: Exception) -> Path:
        """What a failed step leaves for diagnosis, kept out of the work dir (which is removed):
        its whole output, and each generated repository's reports and logs."""
        out = self.source / "bench/out/failure"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        (out / "error.txt").write_text(f"{error}\n")
        for name in ("stdout", "stderr"):
            (out / f"step.{name}").write_text(getattr(error, name, "") or "")
        for repo in self.repos:
            for pattern in ("dist/*.json", "dist/*.md", ".pants.d/*.log", ".jiti/*.log"):
                for found in repo.root.glob(pattern):
                    kept = out / repo.root.name / found.relative_to(repo.root)
                    kept.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(found, kept)
        return out

    def write(self, last_line: str) -> None:
        out = self.source / "bench/out"
        out.mkdir(parents=True, exist_ok=True)
        machine = (
            f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        )
        header = (
            f"{datetime.date.today()} · {machine} · "
            f"{'--quick' if self.args.quick else 'full'} · runs={self.args.runs}\n\n"
            "| measurement | jiti (min / median) | other (min / median) | result |\n"
            "|---|---|---|---|\n"
        )
        table = "".join(f"| {' | '.join(row)} |\n" for row in self.rows)
        (out / "results.md").write_text(header + table + f"\n`{last_line}`\n")
        (out / "results.json").write_text(json.dumps(self.results, indent=2) + "\n")
        print("\n" + header + table, flush=True)
        log(f"written to {out}/results.md and results.json")


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs, skip N=100 cold builds")
    parser.add_argument("--runs", type=int, default=None, help="runs per measurement")
    parser.add_argument("--workdir", default=None, help="where to generate the monorepos")
    parser.add_argument("--keep", action="store_true", help="keep the generated monorepos")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=MEASUREMENTS,
        help="measure only these (default: all; with --quick, all but cdk)",
    )
    parser.add_argument("--apps", type=int, default=20, help="apps for package/noop/parallel")
    parser.add_argument(
        "--fleet", type=int, default=None, help="deployments in the scale run (1000; quick: 400)"
    )
    parser.add_argument(
        "--ci-apps",
        type=int,
        nargs="+",
        help="repository sizes of the ci_scale row (100 1000; quick: 100 300)",
    )
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=100,
        help="added to every AWS call in the second parallel-deploy measurement and in hotswap",
    )
    args = parser.parse_args()
    args.runs = args.runs or (2 if args.quick else 3)
    args.only = args.only or [m for m in MEASUREMENTS if not (args.quick and m == "cdk")]
    args.cold_runs = 1 if args.quick else 2
    args.fleet = args.fleet or (400 if args.quick else 1000)
    args.fleet_small = max(1, args.fleet // 50)  # compared with 50 times fewer
    # Rows that the last line does not report get fewer runs in a quick run.
    args.secondary_runs = 1 if args.quick else args.runs
    bench = Bench(args)
    try:
        last_line = bench.run()
        bench.write(last_line)
    except Exception as e:
        log(f"failed; what it left is in {bench.save_failure(e)}")
        raise
    finally:
        for repo in bench.repos:
            repo.stop_pantsd()
        if not args.keep:
            shutil.rmtree(bench.work, ignore_errors=True)
    print(last_line, flush=True)


if __name__ == "__main__":
    main()
