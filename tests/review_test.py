"""Review before merge, end to end against the local AWS: `plan-stacks` shows what a commit does
to the live stacks (a change to a shared library reaching exactly the stacks it reaches, a
modification, a replacement, what stays) with read calls only, fails on a change that broadens
security when asked to, and `deploy-stacks --jiti-expect-plan` refuses the stack that moved
since the plan and deploys the rest."""

from __future__ import annotations

import json
import re

import pytest
from jiti_aws_proxy import AwsProxy, is_read

pytestmark = pytest.mark.local_only("a stack changed by hand between the plan and the deploy")

# The development copies only: the production copies in other accounts are not deployed here.
CHANGED = (
    "--changed-since=HEAD~1",
    "--changed-dependents=transitive",
    "--filter-address-regex=:deploy$",
)
APPS = ("greeter", "orders", "reports")
BLAST_RADIUS = re.compile(
    r"(\d+) stacks? changes? in (\d+) accounts?: (\d+) resources added, (\d+) modified, "
    r"(\d+) replaced, (\d+) removed; (\d+) selected deployments unchanged"
)


@pytest.fixture(scope="module")
def repo(make_repo):
    repo = make_repo()
    repo.pants("deploy-stacks", *(f"apps/{app}:deploy" for app in APPS))
    return repo


def plan_of(repo) -> dict[str, dict]:
    plan = json.loads((repo.root / "dist/jiti-plan.json").read_text())
    assert plan["format"] == 1
    return {row["address"]: row for row in plan["deployments"]}


def changes(row: dict) -> dict[str, dict]:
    return {change["logical_id"]: change for change in row["changes"]}


def move_by_hand(repo, stack_name: str) -> None:
    """Another deploy of the stack since the plan, as from another commit: its queue changes,
    it records another version, and its `LastUpdatedTime` moves."""
    cfn = repo.aws("cloudformation")
    body = cfn.get_template(StackName=stack_name)["TemplateBody"]  # boto3 parses JSON
    body = json.loads(body) if isinstance(body, str) else body
    body["Resources"]["Orders"]["Properties"]["VisibilityTimeout"] = 90
    body["Outputs"]["JitiVersion"]["Value"] = "deployed-by-hand"
    (live,) = cfn.describe_stacks(StackName=stack_name)["Stacks"]
    cfn.create_change_set(
        StackName=stack_name,
        ChangeSetName="by-hand",
        ChangeSetType="UPDATE",
        TemplateBody=json.dumps(body),
        Parameters=[
            {"ParameterKey": p["ParameterKey"], "UsePreviousValue": True}
            for p in live.get("Parameters", [])
        ],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
        Tags=live["Tags"],
    )
    wait = {"Delay": 1, "MaxAttempts": 120}
    cfn.get_waiter("change_set_create_complete").wait(
        StackName=stack_name, ChangeSetName="by-hand", WaiterConfig=wait
    )
    cfn.execute_change_set(StackName=stack_name, ChangeSetName="by-hand")
    cfn.get_waiter("stack_update_complete").wait(StackName=stack_name, WaiterConfig=wait)


@pytest.fixture(scope="module")
def shared_change(repo):
    """A commit to the library greeter's and orders' handlers import, planned as a pull request
    is, through a proxy that logs every call the plan makes (read as from a real account)."""
    repo.edit(
        "apps/shared/http.py",
        '"headers": {"Content-Type": "application/json"},',
        '"headers": {"Content-Type": "application/json", "Cache-Control": "no-store"},',
    )
    repo.commit("shared: responses are not cached")
    with AwsProxy(repo.local_aws_endpoint()) as proxy:
        aws = {
            "AWS_ENDPOINT_URL": proxy.endpoint,
            "AWS_ACCESS_KEY_ID": "jiti-local",
            "AWS_SECRET_ACCESS_KEY": "jiti-local",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        result = repo.pants(
            "--jiti-target=aws",
            *CHANGED,
            "--jiti-require-approval=broadening",
            "plan-stacks",
            env=aws,
            check=False,
        )
        calls = list(proxy.calls)
    return result, calls, plan_of(repo), (repo.root / "dist/jiti-plan.md").read_text()


def test_a_shared_library_change_plans_exactly_the_stacks_it_reaches(shared_change):
    result, calls, plan, markdown = shared_change
    assert result.returncode == 0, result.stdout + result.stderr  # nothing broadens
    changing = sorted(a for a, row in plan.items() if row["status"] != "unchanged")
    assert changing == ["apps/greeter:deploy", "apps/orders:deploy"], plan
    for address, row in plan.items():  # a stack is planned to change if its version does
        assert (row["status"] == "changes") == (row["new_version"] != row["live"]["version"])
        assert row["pending_inputs"] == [] and row["broadening"] == []
    for address in changing:  # the functions' code, nothing else: no tag noise
        found = {
            (c["type"], c["action"], c["replacement"], d["property"])
            for c in plan[address]["changes"]
            for d in c["details"]
        }
        assert found == {("AWS::Lambda::Function", "Modify", "False", "Code")}, (address, found)
        for change in plan[address]["changes"]:  # each listed function runs a new zip
            (code,) = change["details"]
            before, after = json.loads(code["before"]), json.loads(code["after"])
            assert before["S3Key"] != after["S3Key"], (address, change["logical_id"])
    assert "2 stacks change in 1 account: 0 resources added, " in markdown


def test_a_plan_makes_read_calls_only(shared_change):
    _, calls, _, _ = shared_change
    operations = {c.operation for c in calls}
    assert "cloudformation:GetTemplate" in operations
    writes = {op for op in operations if not is_read(op) and not op.startswith("sts:")}
    assert writes == set(), writes  # STS only hands out the plan role's credentials


@pytest.fixture(scope="module")
def reviewed(repo, shared_change):
    """A commit that modifies greeter (more memory, and a wider grant: security broadens) and
    replaces orders' table (a new name), planned as a pull request is."""
    repo.edit("apps/greeter/infra.py", "memory=256)", "memory=512)")
    repo.edit(
        "apps/greeter/infra.py",
        "    http_api(",
        '    fn.allow(["sqs:SendMessage"], ["arn:aws:sqs:*:*:*"])\n    http_api(',
    )
    repo.edit(  # TableName is create-only: the table is replaced
        "apps/orders/infra.py",
        'partition_key="id")',
        'partition_key="id")\n    store.TableName = app.physical_name("OrdersTable-v2")',
    )
    repo.commit("greeter: more memory and a wider grant; orders: a new table name")
    return repo.pants(*CHANGED, "--jiti-require-approval=broadening", "plan-stacks", check=False)


def test_the_plan_shows_the_modification_the_replacement_and_what_stays(repo, reviewed):
    plan = plan_of(repo)
    assert sorted(plan) == [f"apps/{app}:deploy" for app in APPS]
    greeter, orders = plan["apps/greeter:deploy"], plan["apps/orders:deploy"]
    assert (greeter["status"], orders["status"]) == ("changes", "changes")
    assert greeter["live"]["stack_id"].startswith("arn:aws:cloudformation:us-east-1:")
    assert greeter["new_version"] != greeter["live"]["version"]
    assert changes(greeter)["Handler"]["action"] == "Modify"
    table = changes(orders)["OrdersTable"]
    assert (table["action"], table["replacement"]) == ("Modify", "True")
    forcing = [d["property"] for d in table["details"] if d["replacement"] == "Always"]
    assert forcing == ["TableName"], table["details"]  # the property that forces it
    reports = plan["apps/reports:deploy"]
    assert reports["status"] == "unchanged" or reports["pending_inputs"], reports
    markdown = (repo.root / "dist/jiti-plan.md").read_text()
    radius = BLAST_RADIUS.search(markdown)
    assert radius, markdown
    # The Markdown's blast radius counts what the JSON holds: one account, the stacks that
    # change (greeter, orders, and reports while its inputs are pending), the replacements.
    shown = {
        a: [(c["action"], c["logical_id"], c["replacement"]) for c in e["changes"]]
        for a, e in plan.items()
    }
    changing = [e for e in plan.values() if e["status"] != "unchanged"]
    replaced = [  # sure or possible ("may replace"): both count in the blast radius
        c
        for e in plan.values()
        for c in e["changes"]
        if c["replacement"] in ("True", "Conditional")
    ]
    assert radius.group(1, 2, 5, 7) == (
        str(len(changing)),
        "1",
        str(len(replaced)),
        str(len(plan) - len(changing)),
    ), (radius.group(0), shown)
    assert "OrdersTable" in markdown and "apps/greeter:deploy" in markdown


def test_a_broadening_change_fails_the_plan_when_approval_is_required(repo, reviewed):
    assert reviewed.returncode != 0, reviewed.stdout
    assert "Traceback" not in reviewed.stdout + reviewed.stderr
    greeter = plan_of(repo)["apps/greeter:deploy"]
    assert greeter["broadening"], greeter
    assert plan_of(repo)["apps/orders:deploy"]["broadening"] == []
    assert "apps/greeter:deploy" in reviewed.stdout + reviewed.stderr


def test_deploying_the_plan_refuses_the_stack_that_moved_and_deploys_the_rest(repo, reviewed):
    orders = repo.stack("orders")
    move_by_hand(repo, orders)
    result = repo.pants(
        *CHANGED, "--jiti-expect-plan=dist/jiti-plan.json", "deploy-stacks", check=False
    )
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    refusal = "apps/orders:deploy: refused, not as reviewed in jiti-plan.json: live last updated"
    assert refusal in out and "; live version is " in out, out
    assert "Traceback" not in out
    (after,) = repo.aws("cloudformation").describe_stacks(StackName=orders)["Stacks"]
    assert {o["OutputKey"]: o["OutputValue"] for o in after["Outputs"]}["JitiVersion"] == (
        "deployed-by-hand"  # refused: untouched
    )
    rows = json.loads((repo.root / "dist/jiti-deploy-report.json").read_text())["deployments"]
    results = {row["deployment"]: row["result"] for row in rows}
    assert results["apps/greeter:deploy"] == "deployed", results
    assert results["apps/reports:deploy"] == "skipped: dependency failed", results
