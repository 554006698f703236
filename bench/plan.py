"""The `plan` rows: reviewing a change with `plan-stacks` (read-only, no change set), side by
side with what a user would run instead, each side's AWS calls counted by the proxy.

- 1 changed deployment of a deployed fleet of `--fleet`, as a pull request reviews it
  (`--changed-since`), against a dry run of `deploy-stacks`, which makes a change set; and a
  plan of the whole fleet, to check that an unchanged deployment costs no call of its own.
- every app of the deploy repository changed, against `cdk diff` of the same packaged
  templates (a cloud assembly of them), in its default mode (a change set per stack) and
  with `--method=template` (no change set).

Every run's calls are checked: a plan lists each account and region's stacks once (one
paginated DescribeStacks), reads the template of each changed stack only (GetTemplate), and
a resource type's schema once (DescribeType).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import botocore.session

from bench import cdk
from bench.monorepo import FLEET_TEMPLATE, Monorepo, app_name
from bench.stats import Samples, load_average, ratio

DESCRIBE_STACKS = "cloudformation:DescribeStacks"
GET_TEMPLATE = "cloudformation:GetTemplate"
DESCRIBE_TYPE = "cloudformation:DescribeType"
CALLER = "sts:GetCallerIdentity"
PLAN_CALLS = {CALLER, DESCRIBE_STACKS, GET_TEMPLATE, DESCRIBE_TYPE}
PAGE = 50  # stacks per DescribeStacks page on the local AWS (checked in `stack_pages`)
CHANGED_MEMORY = 2048  # a memory size no other row deploys


def client(env: dict, service: str, region: str = "us-east-1"):
    return botocore.session.get_session().create_client(
        service,
        region_name=region,
        endpoint_url=env["AWS_ENDPOINT_URL"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )


def stack_pages(env: dict, regions: list[str]) -> int:
    """The DescribeStacks pages that list every stack of `regions` (the calls a batched read
    makes), counted by listing them."""
    pages = 0
    for region in regions:
        listed = client(env, "cloudformation", region).get_paginator("describe_stacks")
        sizes = [len(page["Stacks"]) for page in listed.paginate()]
        if sizes[:-1] and set(sizes[:-1]) != {PAGE}:
            raise RuntimeError(f"DescribeStacks pages of {sizes} stacks, not {PAGE}")
        pages += len(sizes)
    return pages


def check_plan_calls(counts: Counter, pages: int, changed: int, types: int, regions=1) -> str:
    """Refuses a plan that is less batched than a deploy; describes its calls. (A deploy, too,
    asks STS for its account once per region it reaches.)"""
    wrong = counts[DESCRIBE_STACKS] != pages or counts[GET_TEMPLATE] != changed
    wrong = wrong or counts[DESCRIBE_TYPE] > types or counts[CALLER] > regions
    if wrong or set(counts) - PLAN_CALLS:
        raise RuntimeError(
            f"the plan made {dict(counts)}; expected {pages} DescribeStacks pages, {changed} "
            f"GetTemplate, at most {types} DescribeType and {regions} GetCallerIdentity, "
            "nothing else"
        )
    return (
        f"{sum(counts.values())} calls: {counts[DESCRIBE_STACKS]} DescribeStacks pages, "
        f"{counts[GET_TEMPLATE]} GetTemplate, {counts[DESCRIBE_TYPE]} DescribeType, 0 change sets"
    )


def plan_rows(repo: Monorepo) -> dict[str, tuple[str, list[str]]]:
    """The last plan's rows: address -> (status, the resources it changes)."""
    rows = json.loads((repo.root / "dist/jiti-plan.json").read_text())["deployments"]
    return {
        r["address"]: (r["status"], [f"{c['type']} {c['logical_id']}" for c in r["changes"]])
        for r in rows
    }


# --- 1 changed deployment of a fleet --------------------------------------------------------


def write_fleet(bench, repo: Monorepo, name: str, size: int) -> str:
    """A fleet of `size` deployments, the last of a stack of its own (`changed.json`), so
    that a commit can change exactly one of them."""
    spec = bench.write_fleet(repo, name, size - 1)
    with (repo.root / name / "BUILD").open("a") as build:
        build.write(
            f'cloudformation_stack(name="changed-stack", source="changed.json", app="{name}-changed")\n'
            'cloudformation_deployment(name="changed", stack=":changed-stack", '
            f'stack_name="{name}-changed-{{env}}", region="us-east-1")\n'
        )
    (repo.root / name / "changed.json").write_text(json.dumps(FLEET_TEMPLATE))
    return spec


def review_one(bench, repo: Monorepo, proxy, env: dict) -> None:
    """`plan-stacks --changed-since` against `--jiti-dry-run deploy-stacks` for the same one
    changed deployment of `--fleet`."""
    size, started = bench.args.fleet, load_average()
    spec = write_fleet(bench, repo, "planfleet", size)
    bench.log(f"first deploy of a fleet of {size} deployments, for the plan")
    repo.pants("--jiti-max-parallel=8", "deploy-stacks", spec, env=env)
    bench.commit(repo, "a deployed fleet")
    changed = {"Resources": {"Queue": {**FLEET_TEMPLATE["Resources"]["Queue"]}}}
    changed["Resources"]["Queue"]["Properties"] = {"VisibilityTimeout": 45}
    (repo.root / "planfleet/changed.json").write_text(json.dumps(changed))
    bench.commit(repo, "one deployment changes")
    selected = ("--changed-since=HEAD~1", "--changed-dependents=transitive")
    pages = {"one": stack_pages(env, ["us-east-1"])}
    pages["all"] = stack_pages(env, ["us-east-1", "eu-west-1"])
    proxy.take()
    plan, dry = Samples("plan-stacks"), Samples("dry run")
    calls: dict[str, Counter] = {}
    for r in range(bench.args.runs):
        bench.log(f"plan of 1 changed deployment of {size}, run {r + 1}/{bench.args.runs}")
        plan.time(repo.pants, *selected, "plan-stacks", env=env)
        calls["plan"] = proxy.take()
        if plan_rows(repo) != {"planfleet:changed": ("changes", ["AWS::SQS::Queue Queue"])}:
            raise RuntimeError(f"expected planfleet:changed to change, got {plan_rows(repo)}")
        described = check_plan_calls(calls["plan"], pages["one"], changed=1, types=1)
        dry.time(repo.pants, *selected, "--jiti-dry-run", "deploy-stacks", env=env)
        calls["dry"] = proxy.take()
    bench.log(f"plan of all {size} deployments of the fleet, 1 changed (calls checked)")
    whole = Samples("plan of the whole fleet")
    whole.time(repo.pants, "plan-stacks", spec, env=env)
    calls["whole"] = proxy.take()
    statuses = Counter(status for status, _ in plan_rows(repo).values())
    if statuses != Counter(unchanged=size - 1, changes=1):
        raise RuntimeError(f"expected 1 of {size} changed, got {dict(statuses)}")
    whole_described = check_plan_calls(calls["whole"], pages["all"], 1, 1, regions=2)
    bench.results["plan"] = {
        "plan_stacks": plan.times,
        "dry_run": dry.times,
        "whole_fleet": whole.times,
        "calls": {k: dict(v) for k, v in calls.items()},
        "load": [started, load_average()],
    }
    by_min, by_median = ratio(dry, plan)
    bench.row(
        f"review 1 changed deployment of {size}: `plan-stacks --changed-since` vs "
        "`--jiti-dry-run deploy-stacks` (change sets)",
        f"{plan.cell()}; {described}",
        f"{dry.cell()}; {bench.describe_calls(calls['dry'])}",
        f"{by_median:.1f}x faster (min {by_min:.1f}x); load {started} to {load_average()}",
    )
    bench.row(
        f"plan of all {size} deployments of that fleet (2 regions), 1 changed",
        f"{whole.cell()}; {whole_described}",
        "-",
        "an unchanged deployment costs no call of its own",
    )


# --- every app changed: `plan-stacks` against `cdk diff` ------------------------------------


def assembly_inputs(repo: Monorepo, env: dict) -> tuple[dict, dict, str]:
    """Each stack's packaged template and live parameter values, and its environment."""
    cfn = client(env, "cloudformation")
    templates, parameters = {}, {}
    for i, name in enumerate(repo.stack_names()):
        templates[name] = repo.root / f"dist/apps.{app_name(i)}/stack.template.json"
        (stack,) = cfn.describe_stacks(StackName=name)["Stacks"]
        parameters[name] = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    account = client(env, "sts").get_caller_identity()["Account"]
    return templates, parameters, f"aws://{account}/us-east-1"


def check_cdk_diff(output: str, names: list[str], method: str, counts: Counter) -> str:
    """`cdk diff` read every deployed stack and found each one's change (through a change set
    in the default mode, by templates alone with `--method=template`)."""
    expected = {name: ["AWS::Lambda::Function Handler"] for name in names}
    change_sets = len(names) if method == "auto" else 0
    found = cdk.diff_changes(output)
    if found != expected or f"Number of stacks with differences: {len(names)}" not in output:
        raise RuntimeError(f"cdk diff --method={method} found {found}:\n{output[-3000:]}")
    if "Could not create a change set" in output or counts[GET_TEMPLATE] != len(names):
        raise RuntimeError(f"cdk diff --method={method} made {dict(counts)}:\n{output[-3000:]}")
    if counts["cloudformation:CreateChangeSet"] != change_sets:
        raise RuntimeError(f"cdk diff --method={method} made {dict(counts)}")
    return (
        f"{sum(counts.values())} calls: {counts[DESCRIBE_STACKS]} DescribeStacks, "
        f"{counts[GET_TEMPLATE]} GetTemplate, {change_sets} change sets"
    )


def versus_cdk_diff(bench, repo: Monorepo, proxy, env: dict) -> None:
    """Every app of the deploy repository changes (its function's memory); `plan-stacks` of
    them against `cdk diff` of the same templates, each against the stacks jiti deployed."""
    n, title = repo.apps, f"review {repo.apps} changed stacks: `plan-stacks` vs `cdk diff`"
    command = cdk.install(Path.home() / ".cache/jiti/bench-cdk", bench.log)
    if command is None:
        bench.row(title, "-", "-", "not measured: npm is not installed")
        return
    started = load_average()
    repo.set_memory(CHANGED_MEMORY)
    bench.commit(repo, "every app's function changes")
    repo.pants("package", "apps::")
    templates, parameters, environment = assembly_inputs(repo, env)
    assembly = cdk.write_assembly(bench.work / "cdk-diff.out", templates, environment)
    pages = stack_pages(env, ["us-east-1"])
    types = {
        resource["Type"]
        for template in templates.values()
        for resource in json.loads(template.read_text())["Resources"].values()
    }
    proxy.take()
    expected = {
        f"apps/{app_name(i)}:deploy": ("changes", ["AWS::Lambda::Function Handler"])
        for i in range(n)
    }
    samples = {s: Samples(s) for s in ("plan", "auto", "template")}
    calls: dict[str, Counter] = {}
    described: dict[str, str] = {}
    for r in range(bench.args.runs):
        bench.log(f"plan-stacks and cdk diff of {n} changed stacks, run {r + 1}")
        samples["plan"].time(repo.pants, "plan-stacks", "apps::", env=env)
        calls["plan"] = proxy.take()
        if plan_rows(repo) != expected:
            raise RuntimeError(f"expected {n} stacks to change, got {plan_rows(repo)}")
        described["plan"] = check_plan_calls(calls["plan"], pages, changed=n, types=len(types))
        for method in ("auto", "template"):
            output = samples[method].time(cdk.diff, command, assembly, env, parameters, method)
            calls[method] = proxy.take()
            described[method] = check_cdk_diff(output, list(templates), method, calls[method])
    bench.results["plan_cdk_diff"] = {
        **{k: s.times for k, s in samples.items()},
        "calls": {k: dict(v) for k, v in calls.items()},
        "load": [started, load_average()],
    }
    for method, label in (
        ("auto", "default: a change set per stack"),
        ("template", "`--method=template`"),
    ):
        by_min, by_median = ratio(samples[method], samples["plan"])
        bench.row(
            f"{title} ({label}), same templates, stacks deployed by jiti",
            f"{samples['plan'].cell()}; {described['plan']}",
            f"{samples[method].cell()}; {described[method]}",
            f"{by_median:.1f}x faster (min {by_min:.1f}x); load {started} to {load_average()}",
        )
