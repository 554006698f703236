"""A stack's whole life end to end, against the local AWS: the plan of a dry run as Markdown and
data, the replace gate and the stack policy guarding the orders table, drift made out of band
and found, and an app deleted from the repository pruned after the merge, and nothing else."""

from __future__ import annotations

import json

import pytest

CHANGED = ("--changed-since=HEAD~1", "--changed-dependents=transitive")
DEV_APPS = ("apps/greeter:deploy", "apps/orders:deploy", "apps/site:deploy")


@pytest.fixture(scope="module")
def repo(make_repo):
    repo = make_repo("lifecycle")
    repo.pants("deploy-stacks", "apps::")
    return repo


def report(repo, name: str = "deploy") -> dict:
    return json.loads((repo.root / f"dist/jiti-{name}-report.json").read_text())


def rows(repo, name: str = "deploy") -> dict[str, dict]:
    key = "deployments" if name == "deploy" else "stacks"
    return {row["stack"]: row for row in report(repo, name)[key]}


def stack(repo, name: str) -> dict:
    return repo.aws("cloudformation").describe_stacks(StackName=name)["Stacks"][0]


def tags(repo, name: str) -> dict:
    return {t["Key"]: t["Value"] for t in stack(repo, name).get("Tags", [])}


def outputs(repo, name: str) -> dict:
    return {o["OutputKey"]: o["OutputValue"] for o in stack(repo, name).get("Outputs", [])}


def stack_names(repo) -> set[str]:
    return {
        s["StackName"]
        for page in repo.aws("cloudformation").get_paginator("describe_stacks").paginate()
        for s in page["Stacks"]
        if s["StackStatus"] != "DELETE_COMPLETE"
    }


def test_every_stack_carries_the_repository_and_its_deployment(repo):
    for app in ("greeter", "orders", "site"):
        live = tags(repo, repo.stack(app))
        repository = repo.run.repository or "jiti"  # pants.toml's, or the sandbox run's
        assert live["jiti:repository"] == repository
        assert live["jiti:deployment"] == f"apps/{app}:deploy"
    # The orders table is data: its stack has the default policy guarding it.
    policy = repo.aws("cloudformation").get_stack_policy(StackName=repo.stack("orders"))
    denied = json.loads(policy["StackPolicyBody"])["Statement"][1]
    assert denied["Effect"] == "Deny" and "LogicalResourceId/OrdersTable" in denied["Resource"]


def test_a_dry_run_writes_its_plan_as_markdown_and_each_change_in_the_report(repo):
    repo.edit("apps/orders/worker.py", '"status": "stored"', '"status": "kept"')
    try:
        repo.pants("--jiti-dry-run", "deploy-stacks", *DEV_APPS)
    finally:
        repo.git("checkout", "--", "apps/orders/worker.py")
    plan = (repo.root / "dist/jiti-deploy-report.md").read_text()
    assert plan.startswith("## jiti plan (dry run)\n")
    assert f"| `apps/orders:deploy` | {repo.stack('orders')} | local " in plan
    assert "| Modify | Worker | AWS::Lambda::Function | False | Code: " in plan
    assert f"| `apps/greeter:deploy` | {repo.stack('greeter')} | local " in plan
    orders = rows(repo)[repo.stack("orders")]
    assert orders["result"] == "dry run"
    (worker,) = [c for c in orders["changes"] if c["logical_id"] == "Worker"]
    assert (worker["action"], worker["replacement"]) == ("Modify", "False")
    (code,) = [d for d in worker["details"] if d["name"] == "Code"]
    assert code["before"] != code["after"] and code["requires_recreation"] == "Never"
    assert rows(repo)[repo.stack("greeter")]["changes"] == []  # up to date: no change set


def test_a_change_that_replaces_the_orders_table_fails_the_gate_and_leaves_the_stack_untouched(
    repo,
):
    before = stack(repo, repo.stack("orders"))
    table = outputs(repo, repo.stack("orders"))["OrdersTableName"]
    repo.edit(
        "infra-lib/jiti_infra/constructs/storage.py",
        "TableName=app.physical_name(name),",
        'TableName=app.physical_name(name + "-v2"),',
    )
    try:
        gated = repo.pants(
            "--jiti-fail-on-replace", "deploy-stacks", "apps/orders:deploy", check=False
        )
        assert gated.returncode != 0
        out = gated.stdout + gated.stderr
        assert "stopped before changing anything (--jiti-fail-on-replace)" in out
        assert "OrdersTable (AWS::DynamoDB::Table): would be replaced: TableName changed" in out
        assert "Traceback" not in out
        assert rows(repo)[repo.stack("orders")]["result"] == "blocked: would replace or delete data"
        assert (
            "| Modify | OrdersTable | AWS::DynamoDB::Table | **True** |"
            in (repo.root / "dist/jiti-deploy-report.md").read_text()
        )
        after = stack(repo, repo.stack("orders"))
        assert (after["StackStatus"], outputs(repo, repo.stack("orders"))["JitiVersion"]) == (
            before["StackStatus"],
            {o["OutputKey"]: o["OutputValue"] for o in before["Outputs"]}["JitiVersion"],
        )
        summaries = repo.aws("cloudformation").list_change_sets(StackName=repo.stack("orders"))
        assert not [s for s in summaries["Summaries"] if s["ExecutionStatus"] == "AVAILABLE"]

        # Without the gate, the stack policy refuses the replacement: the update rolls back.
        refused = repo.pants("deploy-stacks", "apps/orders:deploy", check=False)
        assert refused.returncode != 0
        assert "Action denied by stack policy" in refused.stdout + refused.stderr
        assert stack(repo, repo.stack("orders"))["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
        assert table in repo.aws("dynamodb").list_tables()["TableNames"]
        assert outputs(repo, repo.stack("orders"))["OrdersTableName"] == table
    finally:
        repo.git("checkout", "--", "infra-lib")


def test_drift_stacks_reports_a_queue_attribute_changed_out_of_band(repo):
    repo.pants("deploy-stacks", "apps/orders:deploy")  # back from the rolled-back update
    sqs = repo.aws("sqs")
    sqs.set_queue_attributes(
        QueueUrl=outputs(repo, repo.stack("orders"))["OrdersUrl"],
        Attributes={"VisibilityTimeout": "5"},
    )
    result = repo.pants("drift-stacks", *DEV_APPS, check=False)
    assert result.returncode == 1
    assert f"{repo.stack('orders')}: Orders (AWS::SQS::Queue) MODIFIED" in result.stdout
    assert "/VisibilityTimeout: expected 60, actual 5 (NOT_EQUAL)" in result.stdout
    found = rows(repo, "drift")
    assert {name: row["result"] for name, row in found.items()} == {
        repo.stack("greeter"): "in sync",
        repo.stack("orders"): "drifted",
        repo.stack("site"): "in sync",
    }
    (drifted,) = found[repo.stack("orders")]["drift"]
    assert drifted["properties"] == [
        {"path": "/VisibilityTimeout", "expected": "60", "actual": "5", "difference": "NOT_EQUAL"}
    ]


def test_an_app_deleted_in_a_merge_is_pruned_and_nothing_else(repo):
    """CI after the merge: `--changed-since` selects nothing for a deleted app, so deploy-stacks
    deploys nothing; prune-stacks lists the app's stack, then deletes it and nothing else."""
    site_asset = outputs(repo, repo.stack("site"))["SiteContent"].split("/", 3)[
        3
    ]  # s3://bucket/key
    cfn = repo.aws("cloudformation")
    cfn.create_stack(  # someone else's stack, in the same account and region
        StackName=f"not-jiti-{repo.run.environment}",
        TemplateBody=json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}),
    )
    repo.git("rm", "-rq", "apps/site")
    repo.commit("delete the site")
    deployed = repo.pants(*CHANGED, "deploy-stacks")
    assert "nothing to deploy" in deployed.stdout
    before = stack_names(repo)

    listed = repo.pants("prune-stacks")
    assert (
        repo.stack("site") in listed.stdout
        and f"no deployment deploys {repo.stack('site')}" in listed.stdout
    )
    assert "dry run: nothing deleted; add --jiti-prune-confirm to delete" in listed.stdout
    assert {name: row["result"] for name, row in rows(repo, "prune").items()} == {
        repo.stack("site"): "would delete"
    }
    assert stack_names(repo) == before

    pruned = repo.pants(
        "--jiti-prune-confirm",
        "--jiti-prune-assets",
        "--jiti-prune-assets-grace-days=0",
        "prune-stacks",
    )
    site = rows(repo, "prune")[repo.stack("site")]
    assert (site["result"], site["deployment"]) == ("deleted", "apps/site:deploy")
    assert site["retained"] and site["retained"][0].startswith("Site (AWS::S3::Bucket): ")
    assert "left behind (DeletionPolicy Retain): Site (AWS::S3::Bucket)" in pruned.stdout
    assert stack_names(repo) == before - {repo.stack("site")}
    assert {
        repo.stack("greeter"),
        repo.stack("orders"),
        f"not-jiti-{repo.run.environment}",
    } <= stack_names(repo)
    deleted = {a["key"] for a in report(repo, "prune")["assets"]}
    assert site_asset in deleted
    assert all(k == site_asset or k.startswith(f"published/{repo.stack('site')}/") for k in deleted)

    again = repo.pants("prune-stacks")
    assert "nothing to prune" in again.stdout
