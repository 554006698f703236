"""Pruning against the local AWS: only this repository's stacks that no deployment deploys are
listed, then deleted (dependents first, protected ones refused, retained resources reported);
assets nothing live uses, and older than the grace period, go too."""

from __future__ import annotations

import hashlib
import json

import boto3
import pytest

from jiti_contract import EXIT_USER_ERROR, Inventory, StackPlace, StackSetSettings, to_json
from jiti_deploy import in_review, output, prune, runner
from jiti_deploy.__main__ import main
from jiti_deploy.destinations import Destination, Destinations
from jiti_deploy.local_aws import CREDENTIALS, LocalAws
from jiti_deploy.report import Result
from jiti_deploy.testutil import quiet, table

REPOSITORY = "prune-test"
QUEUE = {"Queue": {"Type": "AWS::SQS::Queue"}}
QUEUE_STACK = {"Resources": QUEUE}


@pytest.fixture
def destinations(endpoint, tmp_path, monkeypatch) -> Destinations:
    """The run's destinations, on the test's local AWS."""
    monkeypatch.setattr(
        "jiti_deploy.local_aws.ensure_running",
        lambda state_dir, log=print: LocalAws(endpoint=endpoint, pid=0),
    )
    return Destinations("local", tmp_path / "state", log=quiet)


def names(destination: Destination) -> set[str]:
    cfn = destination.client("cloudformation")
    return {
        s["StackName"]
        for page in cfn.get_paginator("describe_stacks").paginate()  # 50 stacks a page here
        for s in page["Stacks"]
        if s["StackStatus"] != "DELETE_COMPLETE"
    }


@pytest.fixture
def repository(destination, make):
    """Stacks of this repository (kept, gone, and gone ones depending on each other or
    protected), of another repository, and one jiti deployed before repositories were tagged."""

    def deploy(name, resources=QUEUE, repository=REPOSITORY, **plan):
        d = make(name, {"Resources": resources}, repository=repository, **plan)
        runner.deploy(destination, d, log=quiet)

    deploy("p-kept")
    deploy("p-gone", {**QUEUE, "Table": table("p-gone-orders", "RetainExceptOnCreate")})
    deploy("p-base")
    deploy("p-user", depends_on=("apps/p-base:deploy",))
    deploy("p-shared")
    deploy("p-guarded", termination_protection=True, depends_on=("apps/p-shared:deploy",))
    deploy("p-theirs", repository="another-repo")
    deploy("p-untagged", repository=None)
    return Inventory(REPOSITORY, (StackPlace("apps/p-kept:deploy", "p-kept-dev"),))


def test_prune_lists_only_what_this_repository_no_longer_deploys_and_deletes_nothing(
    destination, destinations, repository
):
    before = names(destination)
    outcomes: list = []
    prune.run(
        destinations,
        repository,
        confirm=False,
        max_parallel=2,
        assets_grace_days=None,
        outcomes=outcomes,
        assets=[],
        log=quiet,
    )
    results = {o.stack: o.result for o in outcomes}
    assert results == {
        "p-gone-dev": Result.WOULD_DELETE,
        "p-base-dev": Result.WOULD_DELETE,
        "p-user-dev": Result.WOULD_DELETE,
        "p-guarded-dev": Result.REFUSED,
        "p-shared-dev": Result.KEPT,
    }
    reasons = {o.stack: o.reason for o in outcomes}
    assert reasons["p-gone-dev"] == (
        f"no deployment deploys p-gone-dev to {destination.account}/{destination.region} any "
        "more (it was deployed by apps/p-gone:deploy)"
    )
    assert "termination protection is on" in reasons["p-guarded-dev"]
    assert reasons["p-shared-dev"] == "p-guarded-dev depends on it and stays"
    assert names(destination) == before


def test_prune_deletes_dependents_first_refuses_protected_stacks_and_reports_what_stays(
    destination, destinations, repository
):
    logged: list[str] = []
    outcomes: list = []
    prune.run(
        destinations,
        repository,
        confirm=True,
        max_parallel=4,
        assets_grace_days=None,
        outcomes=outcomes,
        assets=[],
        log=logged.append,
    )
    results = {o.stack: o.result for o in outcomes}
    assert results == {
        "p-gone-dev": Result.DELETED,
        "p-base-dev": Result.DELETED,
        "p-user-dev": Result.DELETED,
        "p-guarded-dev": Result.REFUSED,
        "p-shared-dev": Result.KEPT,
    }
    left = names(destination)
    assert {"p-kept-dev", "p-theirs-dev", "p-untagged-dev", "p-guarded-dev", "p-shared-dev"} <= left
    assert not {"p-gone-dev", "p-base-dev", "p-user-dev"} & left
    deleting = [line for line in logged if "] deleting " in line]
    assert [line.split("] deleting ")[1].split()[0] for line in deleting].index("p-user-dev") < [
        line.split("] deleting ")[1].split()[0] for line in deleting
    ].index("p-base-dev")
    gone = next(o for o in outcomes if o.stack == "p-gone-dev")
    assert gone.retained == ["Table (AWS::DynamoDB::Table): p-gone-orders"]
    assert "p-gone-orders" in destination.client("dynamodb").list_tables()["TableNames"]


def test_a_nested_stack_is_never_pruned_on_its_own(destination, destinations, make):
    """A nested stack carries its parent's tags (fix 17 of the local AWS), this repository's
    and its deployment's included, under a name no deployment deploys: it is never a stack to
    prune (DescribeStacks gives its `ParentId`); it goes with its parent."""
    s3 = destination.client("s3")
    s3.create_bucket(Bucket="prune-nested-templates")
    s3.put_object(Bucket="prune-nested-templates", Key="q.json", Body=json.dumps(QUEUE_STACK))
    url = "https://prune-nested-templates.s3.amazonaws.com/q.json"
    child = {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": url}}
    runner.deploy(
        destination,
        make("n-top", {"Resources": {"Child": child}}, repository="nested-test"),
        log=quiet,
    )
    nested = [n for n in names(destination) if n.startswith("n-top-dev-Child-")]
    assert len(nested) == 1

    def run(inventory: Inventory, confirm: bool) -> dict:
        outcomes: list = []
        prune.run(
            destinations,
            inventory,
            confirm=confirm,
            max_parallel=2,
            assets_grace_days=None,
            outcomes=outcomes,
            assets=[],
            log=quiet,
        )
        return {o.stack: o.result for o in outcomes}

    deployed = Inventory("nested-test", (StackPlace("apps/n-top:deploy", "n-top-dev"),))
    assert run(deployed, confirm=True) == {}
    assert {"n-top-dev", *nested} <= names(destination)
    gone = Inventory("nested-test", (StackPlace("apps/other:deploy", "other-dev"),))
    assert run(gone, confirm=True) == {"n-top-dev": Result.DELETED}
    assert not {"n-top-dev", *nested} & names(destination)


def asset_stack(make, name: str, content: bytes) -> tuple:
    key = f"assets/{hashlib.sha256(content).hexdigest()}.zip"
    template = {"Resources": QUEUE, "Metadata": {"Code": key}}  # a template naming its asset
    return make(name, template, {f"apps/{name}:lambda": content}, repository=REPOSITORY), key


def test_unused_assets_older_than_the_grace_period_are_deleted(
    endpoint, destinations, make, tmp_path
):
    region = "ap-southeast-2"  # a region of its own: no other test's assets are there
    destination = Destination(
        boto3.Session(region_name=region, **CREDENTIALS), endpoint, local=True
    )
    kept, kept_key = asset_stack(make, "a-kept", b"kept code")
    dropped, dropped_key = asset_stack(make, "a-dropped", b"dropped code")
    for d in (kept, dropped):
        runner.deploy(destination, d, log=quiet)
    inventory = Inventory(
        REPOSITORY, (StackPlace("apps/a-kept:deploy", "a-kept-dev", region=region),)
    )
    bucket = f"jiti-assets-{destination.account}-{region}"

    def keys() -> set[str]:
        listed = destination.client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])
        return {o["Key"] for o in listed}

    def run(grace_days: float, confirm: bool) -> list[dict]:
        assets: list = []
        prune.run(
            destinations,
            inventory,
            confirm=confirm,
            max_parallel=2,
            assets_grace_days=grace_days,
            outcomes=[],
            assets=assets,
            log=quiet,
        )
        return assets

    assert {kept_key, dropped_key} <= keys()
    # The stack goes; its asset is too young to go with it.
    assert run(7, confirm=True) == []
    assert "a-dropped-dev" not in names(destination)
    assert dropped_key in keys()
    # Past the grace period: listed by a dry run, deleted with confirm; the used one stays.
    (listed,) = run(0, confirm=False)
    assert (listed["key"], listed["result"]) == (dropped_key, "would delete")
    assert dropped_key in keys()
    (deleted,) = run(0, confirm=True)
    assert (deleted["key"], deleted["result"]) == (dropped_key, "deleted")
    assert kept_key in keys() and dropped_key not in keys()
    versions = destination.client("s3").list_object_versions(Bucket=bucket, Prefix=dropped_key)
    assert not versions.get("Versions") and not versions.get("DeleteMarkers")


def test_the_prune_report_and_exit_code(endpoint, destination, make, tmp_path, monkeypatch):
    """`--mode prune` writes `jiti-prune-report.json` and exits non-zero while a stack it
    should delete is refused."""
    monkeypatch.setattr(
        "jiti_deploy.local_aws.ensure_running",
        lambda state_dir, log=print: LocalAws(endpoint=endpoint, pid=0),
    )
    runner.deploy(
        destination,
        make(
            "r-guarded", {"Resources": QUEUE}, repository="report-test", termination_protection=True
        ),
        log=quiet,
    )
    inventory = tmp_path / "inventory.json"
    inventory.write_text(
        to_json(Inventory("report-test", (StackPlace("apps/other:deploy", "other-dev"),)))
    )
    report = tmp_path / "prune-report.json"
    argv = ["--mode", "prune", "--inventory", str(inventory), "--report", str(report)]
    argv += ["--state-dir", str(tmp_path / "state")]
    assert main(argv) == 1
    assert output.flushed(timeout_s=5)
    written = json.loads(report.read_text())
    assert written["repository"] == "report-test" and written["confirmed"] is False
    (row,) = written["stacks"]
    assert (row["stack"], row["result"], row["deployment"]) == (
        "r-guarded-dev",
        "refused",
        "apps/r-guarded:deploy",
    )


def test_a_stack_set_no_longer_deployed_is_deleted_with_its_instances(
    destination, destinations, make
):
    fleet = make(
        "p-fleet",
        {"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "p-fleet-q"}}}},
        repository="fleet-test",
        stack_set=StackSetSettings(("444444444444",), ("us-east-1",), 100, 0),
    )
    runner.deploy(destination, fleet, log=quiet)
    cfn = destination.client("cloudformation")
    assert cfn.list_stack_instances(StackSetName="p-fleet-dev")["Summaries"]
    inventory = Inventory("fleet-test", (StackPlace("apps/other:deploy", "other-dev"),))

    def run(confirm: bool) -> list:
        outcomes: list = []
        prune.run(
            destinations,
            inventory,
            confirm=confirm,
            max_parallel=2,
            assets_grace_days=None,
            outcomes=outcomes,
            assets=[],
            log=quiet,
        )
        return outcomes

    (listed,) = run(confirm=False)
    assert (listed.stack, listed.result, listed.deployment) == (
        "p-fleet-dev",
        Result.WOULD_DELETE,
        "apps/p-fleet:deploy",
    )
    (deleted,) = run(confirm=True)
    assert deleted.result is Result.DELETED and "1 instance deleted with it" in deleted.reason
    with pytest.raises(cfn.exceptions.StackSetNotFoundException):
        cfn.describe_stack_set(StackSetName="p-fleet-dev")
    assert run(confirm=False) == []


def test_a_stack_left_in_review_by_a_killed_job_is_pruned_once_abandoned(
    destination, destinations, make, monkeypatch
):
    """A deploy stopped right after making its CREATE change set leaves a stack in
    REVIEW_IN_PROGRESS without tags (as on CloudFormation): prune knows it from its change
    set's tags, refuses it while another job may still execute that change set, and deletes it
    once the change set is abandoned."""

    class Stopped(BaseException):
        pass

    def killed(line: str) -> None:
        if ": change set (new stack)" in line:
            raise Stopped(line)

    gone = make("p-review", {"Resources": QUEUE}, repository="prune-review")
    with pytest.raises(Stopped):
        runner.deploy(destination, gone, log=killed)
    inventory = Inventory("prune-review", (StackPlace("apps/p-kept:deploy", "p-kept-dev"),))

    def prune_now(confirm: bool) -> dict:
        outcomes: list = []
        prune.run(
            destinations,
            inventory,
            confirm=confirm,
            max_parallel=1,
            assets_grace_days=None,
            outcomes=outcomes,
            assets=[],
            log=quiet,
        )
        return {o.stack: (o.result, o.deployment) for o in outcomes}

    assert prune_now(confirm=True) == {"p-review-dev": (Result.REFUSED, "apps/p-review:deploy")}
    assert "p-review-dev" in names(destination)
    monkeypatch.setattr(in_review, "FRESH_S", 0)  # the stopped job's change set is old now
    assert prune_now(confirm=True) == {"p-review-dev": (Result.DELETED, "apps/p-review:deploy")}
    assert "p-review-dev" not in names(destination)


def run_prune_main(tmp_path, inventory: Inventory) -> tuple[int, dict]:
    path, report = tmp_path / "inventory.json", tmp_path / "prune-report.json"
    path.write_text(to_json(inventory))
    argv = ["--mode", "prune", "--inventory", str(path), "--report", str(report)]
    code = main([*argv, "--state-dir", str(tmp_path / "state")])
    assert output.flushed(timeout_s=5)
    return code, json.loads(report.read_text())


def test_a_deployment_without_a_region_is_refused_when_prune_reaches_several(
    destination, destinations, make, tmp_path, monkeypatch
):
    """Its stack lives in whatever region was the default when it was deployed: taken for the
    default region here, it would make its stack elsewhere look no longer deployed."""
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    runner.deploy(destination, make("p-vague", {"Resources": QUEUE}, repository="vague"), log=quiet)
    before = names(destination)
    inventory = Inventory(
        "vague",
        (
            StackPlace("apps/p-kept:deploy", "p-kept-dev"),
            StackPlace("apps/eu:deploy", "eu-dev", region="eu-west-1"),
        ),
    )
    code, written = run_prune_main(tmp_path, inventory)
    assert (code, written["stacks"]) == (EXIT_USER_ERROR, [])
    assert written["error"] == (
        "apps/p-kept:deploy has no `region`, and prune-stacks reaches eu-west-1, us-east-1: "
        "set its `region`, so that where its stack lives is known and it is never taken for "
        "one no longer deployed"
    )
    assert names(destination) == before


def test_prune_refuses_an_inventory_without_a_repository(destinations, tmp_path):
    code, written = run_prune_main(
        tmp_path, Inventory("", (StackPlace("apps/p-kept:deploy", "p-kept-dev"),))
    )
    assert (code, written["stacks"]) == (EXIT_USER_ERROR, [])
    assert "no repository id" in written["error"]
