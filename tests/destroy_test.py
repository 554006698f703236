"""`destroy-stacks` end to end: a production deployment refused without the flag, before
anything runs; a dry run that lists; then the orders stack deleted by its deployment, its table
(DeletionPolicy RetainExceptOnCreate) listed and kept."""

from __future__ import annotations

import json

import pytest

PROD = "apps/orders:prod@account=111111111111,region=us-east-1"


@pytest.fixture(scope="module")
def repo(make_repo):
    repo = make_repo("destroy")
    repo.pants("deploy-stacks", "apps/orders:deploy")
    return repo


def report(repo) -> dict:
    return json.loads((repo.root / "dist/jiti-destroy-report.json").read_text())


def live(repo, name: str) -> bool:
    cfn = repo.aws("cloudformation")
    return any(
        s["StackName"] == name and s["StackStatus"] != "DELETE_COMPLETE"
        for page in cfn.get_paginator("describe_stacks").paginate()
        for s in page["Stacks"]
    )


@pytest.mark.local_only("names a production copy in another account")
def test_a_protected_environment_is_refused_in_one_line(repo):
    refused = repo.pants("destroy-stacks", PROD, check=False)
    assert refused.returncode == 2, refused.stderr
    lines = [line for line in refused.stderr.splitlines() if "destroy-stacks:" in line]
    assert lines == [
        f"destroy-stacks: {PROD} (prod): a protected environment "
        "([jiti].protected_environments); add --jiti-destroy-protected to destroy it"
    ]
    assert "Traceback" not in refused.stderr


def test_a_dry_run_lists_then_confirm_deletes_and_keeps_the_retained_table(repo):
    name = repo.stack("orders")
    listed = repo.pants("destroy-stacks", "apps/orders:deploy")
    assert "dry run: nothing deleted; add --jiti-destroy-confirm to delete" in listed.stdout
    (row,) = report(repo)["stacks"]
    assert (row["stack"], row["deployment"], row["result"]) == (
        name,
        "apps/orders:deploy",
        "would delete",
    )
    assert live(repo, name)

    deleted = repo.pants("--jiti-destroy-confirm", "destroy-stacks", "apps/orders:deploy")
    (row,) = report(repo)["stacks"]
    assert row["result"] == "deleted", deleted.stdout
    assert not live(repo, name)
    (table,) = [r for r in row["retained"] if r["type"] == "AWS::DynamoDB::Table"]
    assert table["fate"] == "kept"
    assert table["command"].startswith(
        f"aws dynamodb delete-table --table-name {table['physical_id']}"
    )
    assert (
        f"retained resource OrdersTable (AWS::DynamoDB::Table): {table['physical_id']}: kept"
        in (deleted.stdout)
    )
    described = repo.aws("dynamodb").describe_table(TableName=table["physical_id"])
    assert described["Table"]["TableStatus"] == "ACTIVE"
