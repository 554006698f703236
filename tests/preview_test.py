"""Preview environments end to end: the dev environment deployed once; a pull request's change
to greeter and reports previewed as `pr-7` (exactly their copies, reports reading the dev
orders table, nothing in dev touched, the URLs in the summary and the report); an expired
preview pruned while `pr-7` lives; then `pr-7` destroyed whole."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.local_only("previews are named for the pull request, not the sandbox run")

DEV = ("apps/orders:deploy", "apps/reports:deploy", "apps/greeter:deploy")
CHANGED = ("--changed-since=HEAD~1", "--changed-dependents=transitive")


def stacks(repo) -> dict[str, dict]:
    cfn = repo.aws("cloudformation")
    return {
        s["StackName"]: s
        for page in cfn.get_paginator("describe_stacks").paginate()
        for s in page["Stacks"]
        if s["StackStatus"] != "DELETE_COMPLETE"
    }


def as_dict(items, key: str, value: str) -> dict:
    return {i[key]: i[value] for i in items or []}


def settled(stack: dict) -> tuple:
    """What a deploy of the stack would change: its last update, outputs and tags."""
    return (
        stack.get("LastUpdatedTime"),
        as_dict(stack.get("Outputs"), "OutputKey", "OutputValue"),
        as_dict(stack["Tags"], "Key", "Value"),
    )


def report(repo, name: str) -> dict:
    return json.loads((repo.root / f"dist/{name}").read_text())


@pytest.fixture(scope="module")
def repo(make_repo):
    repo = make_repo("preview")
    repo.pants("deploy-stacks", *DEV)
    return repo


@pytest.fixture(scope="module")
def previewed(repo):
    """The pull request: greeter and reports changed, previewed as pr-7."""
    before = {name: settled(s) for name, s in stacks(repo).items()}
    for app in ("greeter", "reports"):
        path = f"apps/{app}/handler.py"
        repo.write(path, (repo.root / path).read_text() + "\n# changed in the pull request\n")
    repo.commit("greeter and reports change")
    result = repo.pants("--jiti-preview=pr-7", *CHANGED, "deploy-stacks")
    return before, result


def test_a_preview_deploys_exactly_the_changed_apps_copies_reading_the_dev_orders(repo, previewed):
    before, result = previewed
    rows = report(repo, "jiti-deploy-report.json")["deployments"]
    assert {(r["stack"], r["result"], r["preview"]) for r in rows} == {
        ("greeter-pr-7", "deployed", "pr-7"),
        ("reports-pr-7", "deployed", "pr-7"),
    }
    assert "preview pr-7: left out 8 selected deployments not in the dev environment" in (
        result.stderr
    )
    live = stacks(repo)
    assert set(live) - set(before) == {"greeter-pr-7", "reports-pr-7"}
    orders = as_dict(live["orders-dev"]["Outputs"], "OutputKey", "OutputValue")
    taken = as_dict(live["reports-pr-7"]["Parameters"], "ParameterKey", "ParameterValue")
    for name in ("OrdersTableArn", "OrdersTableName"):
        assert taken[name] == orders[name]
    assert taken["Environment"] == "pr-7"
    tags = as_dict(live["greeter-pr-7"]["Tags"], "Key", "Value")
    assert (tags["jiti:preview"], tags["jiti:env"]) == ("pr-7", "pr-7")
    assert tags["jiti:expires"].endswith(":00:00Z")
    for name in ("orders-dev", "reports-dev", "greeter-dev"):
        assert settled(live[name]) == before[name], name


def test_the_summary_and_the_report_give_the_preview_urls(repo, previewed):
    _, result = previewed
    (greeter,) = [
        r
        for r in report(repo, "jiti-deploy-report.json")["deployments"]
        if r["stack"] == "greeter-pr-7"
    ]
    url = greeter["outputs"]["ApiUrl"]
    assert url.startswith("https://") and url.endswith("/live")
    assert "outputs of the preview pr-7:" in result.stdout
    assert f"  greeter-pr-7: ApiUrl = {url}" in result.stdout


def test_an_expired_preview_is_pruned_and_a_live_one_kept(repo, previewed):
    repo.pants("--jiti-preview=pr-8", "--jiti-preview-ttl-hours=0", "deploy-stacks", *DEV[2:])
    assert "greeter-pr-8" in stacks(repo)
    repo.pants("prune-stacks", "--jiti-prune-expired", "--jiti-prune-confirm")
    rows = report(repo, "jiti-prune-report.json")["stacks"]
    assert {(r["stack"], r["result"]) for r in rows} == {("greeter-pr-8", "deleted")}
    live = set(stacks(repo))
    assert "greeter-pr-8" not in live
    assert {"greeter-pr-7", "reports-pr-7", "orders-dev", "greeter-dev"} <= live


def test_destroying_the_preview_removes_exactly_its_stacks(repo, previewed):
    before = set(stacks(repo))
    repo.pants("--jiti-preview=pr-7", "destroy-stacks", "--jiti-destroy-confirm")
    assert before - set(stacks(repo)) == {"greeter-pr-7", "reports-pr-7"}
