"""Apps that share, end to end against the local AWS: reports takes the orders table's ARN and
name from orders' stack outputs (each production copy from the orders copy in its own account
and region), is deployed after orders, redeploys exactly when a value it takes changes, and
keeps orders from dropping an output it takes."""

from __future__ import annotations

import json
import re

import pytest

pytestmark = pytest.mark.local_only("production copies in other accounts, reached through STS")

CHANGED = ("--changed-since=HEAD~1", "--changed-dependents=transitive")
COPIES = [
    (account, region)
    for account in ("111111111111", "222222222222")
    for region in ("eu-west-1", "us-east-1")
]


def prod(app: str, account: str, region: str) -> str:
    return f"apps/{app}:prod@account={account},region={region}"


ORDERS = ["apps/orders:deploy", *(prod("orders", a, r) for a, r in COPIES)]
REPORTS = ["apps/reports:deploy", *(prod("reports", a, r) for a, r in COPIES)]


def results(repo) -> dict[str, str]:
    rows = json.loads((repo.root / "dist/jiti-deploy-report.json").read_text())["deployments"]
    return {row["deployment"]: row["result"] for row in rows}


def cfn(repo, account: str | None = None, region: str = "us-east-1"):
    """CloudFormation in `account` (assumed into, as jiti does), or in the local default one."""
    if account is None:
        return repo.aws("cloudformation", region=region)
    creds = repo.aws("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/jiti-deploy", RoleSessionName="jiti-test"
    )["Credentials"]
    return repo.aws("cloudformation", region=region, **creds)


def stack(repo, name: str, account: str | None = None, region: str = "us-east-1") -> dict:
    return cfn(repo, account, region).describe_stacks(StackName=name)["Stacks"][0]


def event_count(repo, name: str) -> int:
    """Every event of the stack, on every page (CloudFormation pages them 100 at a time)."""
    pages = cfn(repo).get_paginator("describe_stack_events").paginate(StackName=name)
    return sum(len(page["StackEvents"]) for page in pages)


def outputs(description: dict) -> dict:
    return {o["OutputKey"]: o["OutputValue"] for o in description.get("Outputs", [])}


def parameters(description: dict) -> dict:
    return {p["ParameterKey"]: p["ParameterValue"] for p in description["Parameters"]}


def tags(description: dict) -> dict:
    return {t["Key"]: t["Value"] for t in description["Tags"]}


def taken(repo, account: str | None = None, region: str = "us-east-1") -> dict:
    """The orders outputs reports takes, and the values its stack was given, in one place."""
    env = "prod" if account else "dev"
    orders = outputs(stack(repo, f"orders-{env}", account, region))
    reports = parameters(stack(repo, f"reports-{env}", account, region))
    return {name: (orders[name], reports[name]) for name in ("OrdersTableArn", "OrdersTableName")}


@pytest.fixture(scope="module")
def repo(make_repo):
    return make_repo()


def test_a_dry_run_before_orders_is_deployed_shows_the_values_as_pending(repo):
    result = repo.pants("--jiti-dry-run", "deploy-stacks", "apps/reports:deploy")
    for name in ("OrdersTableArn", "OrdersTableName"):
        assert (
            f"input {name} = (pending: apps/orders:deploy is not deployed yet "
            f"(stack {repo.stack('orders')} in us-east-1))" in result.stdout
        )
    assert "+ Add     Report " in result.stdout
    assert results(repo) == {"apps/reports:deploy": "dry run"}
    pages = cfn(repo).get_paginator("describe_stacks").paginate()
    names = {s["StackName"] for page in pages for s in page["Stacks"]}
    assert not {"orders-dev", repo.stack("reports")} & names


def test_each_reports_copy_depends_on_the_orders_copy_in_its_account_and_region(repo):
    addresses = ["apps/reports:deploy", *(prod("reports", a, r) for a, r in COPIES)]
    peeked = json.loads(repo.pants("peek", *addresses).stdout)
    depends = {t["address"]: set(t["dependencies"]) for t in peeked}
    assert "apps/orders:deploy" in depends["apps/reports:deploy"]
    for account, region in COPIES:
        on_orders = {d for d in depends[prod("reports", account, region)] if "orders" in d}
        assert on_orders == {prod("orders", account, region)}


def test_deploying_everything_deploys_orders_first_and_hands_its_outputs_to_reports(repo):
    result = repo.pants("deploy-stacks", "apps::")
    assert set(results(repo).values()) == {"deployed"}
    log = result.stdout
    assert log.index(f"{repo.stack('orders')}: deployed version") < log.index(
        f"{repo.stack('reports')}: none ->"
    )
    for name, (given, value) in taken(repo).items():
        assert given == value, name
        assert f"input {name} = {value}  <- apps/orders:deploy.{name}" in log
    for account, region in COPIES:
        values = taken(repo, account, region)
        assert values["OrdersTableArn"][1] == (
            f"arn:aws:dynamodb:{region}:{account}:table/orders-prod-OrdersTable"
        )
        assert all(given == value for given, value in values.values())


# Renaming the table replaces it, which orders' default stack policy refuses: the change that
# renames it also allows it, as a user who has moved the data would.
ALLOW_REPLACING = {
    "Statement": [{"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"}]
}


def test_an_orders_change_that_changes_a_value_redeploys_reports_with_it(repo):
    before = stack(repo, repo.stack("reports"))
    repo.edit(
        "apps/orders/infra.py",
        'store = table(app, "OrdersTable", partition_key="id")',
        'store = table(app, "OrdersTable", partition_key="id")\n'
        '    store.TableName = app.physical_name("OrderBook")',
    )
    repo.edit(
        "apps/orders/BUILD",
        '    stack=":stack",\n    environment=',
        f'    stack=":stack",\n    stack_policy={ALLOW_REPLACING!r},\n    environment=',
    )
    repo.commit("orders: the table is the order book")
    out = repo.pants(*CHANGED, "deploy-stacks").stdout
    assert results(repo) == {address: "deployed" for address in ORDERS + REPORTS}
    version = outputs(before)["JitiVersion"][:12]  # same template: only values changed
    assert (
        f"{repo.stack('reports')}: version {version} is live, with other settings or input values"
        in out
    )
    assert (
        f"input OrdersTableName = {repo.stack('orders')}-OrderBook  <- apps/orders:deploy.OrdersTableName"
        in out
    )
    values = taken(repo)
    assert values["OrdersTableName"] == (
        f"{repo.stack('orders')}-OrderBook",
        f"{repo.stack('orders')}-OrderBook",
    )
    assert values["OrdersTableArn"][1].endswith(f":table/{repo.stack('orders')}-OrderBook")
    assert (
        outputs(stack(repo, repo.stack("reports")))["JitiConfig"] != outputs(before)["JitiConfig"]
    )
    account, region = COPIES[-1]
    assert taken(repo, account, region)["OrdersTableName"][1] == "orders-prod-OrderBook"


def test_an_orders_change_that_keeps_its_outputs_leaves_reports_up_to_date(repo):
    events = event_count(repo, repo.stack("reports"))
    repo.edit("apps/orders/worker.py", '"status": "stored"', '"status": "kept"')
    repo.commit("orders: rename the stored status")
    repo.pants(*CHANGED, "deploy-stacks")
    assert results(repo) == {
        **{address: "deployed" for address in ORDERS},
        **{address: "up to date" for address in REPORTS},  # selected, as orders' dependents
    }
    assert event_count(repo, repo.stack("reports")) == events


def test_dropping_an_output_reports_takes_is_refused_before_anything_is_written(repo):
    version = outputs(stack(repo, repo.stack("orders")))["JitiVersion"]
    repo.edit(
        "apps/orders/infra.py",
        "    return app.template",
        '    del app.template.outputs["OrdersTableArn"]\n    return app.template',
    )
    repo.commit("orders: no table ARN output")

    alone = repo.pants("deploy-stacks", "apps/orders:deploy", check=False)
    assert alone.returncode != 0
    assert (
        f"apps/orders:deploy: the new template of {repo.stack('orders')} has no output OrdersTableArn, "
        "which live deployments take as inputs:" in alone.stdout
    )
    assert (
        f"apps/reports:deploy (stack {repo.stack('reports')} in us-east-1) takes OrdersTableArn"
        in (alone.stdout)
    )
    assert results(repo) == {"apps/orders:deploy": "failed"}
    assert outputs(stack(repo, repo.stack("orders")))["JitiVersion"] == version

    # With its dependents selected too, the plan of reports refuses it before any deploy starts.
    together = repo.pants(*CHANGED, "deploy-stacks", check=False)
    assert together.returncode != 0
    assert re.search(
        r"apps/reports:\S+: field `inputs`: OrdersTableArn: apps/orders:\S+ has no output "
        r"OrdersTableArn \(the template of apps/orders:stack declares: ApiUrl, ",
        together.stderr,
    ), together.stderr
    assert "Traceback" not in together.stdout + together.stderr
    assert outputs(stack(repo, repo.stack("orders")))["JitiVersion"] == version
