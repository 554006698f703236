"""`destroy-stacks` against the local AWS: the selected deployments' stacks (or a whole
preview) deleted dependents first, only when this repository and this deployment own them, never
from under a consumer left behind nor in a protected environment; what a deletion keeps is
listed and kept, or deleted with `--destroy-data`."""

from __future__ import annotations

import json

import pytest

from jiti_contract import EXIT_USER_ERROR, PREVIEW_TAG, Inventory, StackPlace, to_json
from jiti_deploy import destroy, output, runner
from jiti_deploy.__main__ import main
from jiti_deploy.destinations import Destinations
from jiti_deploy.local_aws import LocalAws
from jiti_deploy.report import Result
from jiti_deploy.testutil import quiet, table

QUEUE = {"Queue": {"Type": "AWS::SQS::Queue"}}


@pytest.fixture
def destinations(endpoint, tmp_path, monkeypatch) -> Destinations:
    monkeypatch.setattr(
        "jiti_deploy.local_aws.ensure_running",
        lambda state_dir, log=print: LocalAws(endpoint=endpoint, pid=0),
    )
    return Destinations("local", tmp_path / "state", log=quiet)


@pytest.fixture
def deploy(destination, make):
    """Deploy `apps/<app>:deploy` as `<stack>-dev` (the app's name unless given)."""

    def deploy(app, repository, resources=QUEUE, stack=None, **plan):
        d = make(
            stack or app,
            {"Resources": resources},
            address=f"apps/{app}:deploy",
            repository=repository,
            **plan,
        )
        runner.deploy(destination, d, log=quiet)

    return deploy


def inventory(repository: str, *apps: str) -> Inventory:
    return Inventory(repository, tuple(StackPlace(f"apps/{a}:deploy", f"{a}-dev") for a in apps))


def run(destinations, inv: Inventory, *apps, log=quiet, **options) -> dict:
    outcomes: list = []
    options = {"confirm": True, "destroy_data": False, "max_parallel": 2, **options}
    selected = tuple(f"apps/{a}:deploy" for a in apps)
    destroy.run(destinations, inv, selected=selected, outcomes=outcomes, log=log, **options)
    return {o.stack: o for o in outcomes}


def live(destination) -> set[str]:
    cfn = destination.client("cloudformation")
    return {
        s["StackName"]
        for page in cfn.get_paginator("describe_stacks").paginate()
        for s in page["Stacks"]
        if s["StackStatus"] != "DELETE_COMPLETE"
    }


def results(found: dict) -> dict:
    return {name: o.result for name, o in found.items()}


def test_destroy_lists_then_deletes_dependents_first(destination, destinations, deploy):
    deploy("d-base", "destroy-order")
    deploy("d-user", "destroy-order", depends_on=("apps/d-base:deploy",))
    inv = inventory("destroy-order", "d-base", "d-user", "d-never")
    listed = run(destinations, inv, "d-base", "d-user", "d-never", confirm=False)
    assert results(listed) == {
        "d-base-dev": Result.WOULD_DELETE,
        "d-user-dev": Result.WOULD_DELETE,
        "d-never-dev": Result.ABSENT,
    }
    assert {"d-base-dev", "d-user-dev"} <= live(destination)
    logged: list[str] = []
    found = run(destinations, inv, "d-base", "d-user", log=logged.append)
    assert results(found) == {"d-base-dev": Result.DELETED, "d-user-dev": Result.DELETED}
    deleting = [line.split("] deleting ")[1].split()[0] for line in logged if "] deleting " in line]
    assert deleting == ["d-user-dev", "d-base-dev"]
    assert not {"d-base-dev", "d-user-dev"} & live(destination)


def test_a_stack_another_deployment_or_repository_owns_or_a_consumer_needs_is_refused(
    destination, destinations, deploy
):
    deploy("o-theirs", "another-repo")
    deploy("o-mine", "destroy-owner", stack="o-shared")  # `apps/o-mine:deploy` owns o-shared-dev
    deploy("o-base", "destroy-owner")
    deploy("o-user", "destroy-owner", depends_on=("apps/o-base:deploy",))
    inv = Inventory(
        "destroy-owner",
        (
            *inventory("destroy-owner", "o-theirs", "o-base", "o-user").stacks,
            StackPlace("apps/o-other:deploy", "o-shared-dev"),
        ),
    )
    found = run(destinations, inv, "o-theirs", "o-other", "o-base")
    assert results(found) == {name: Result.REFUSED for name in found}
    assert "its jiti:repository tag is 'another-repo'" in found["o-theirs-dev"].reason
    assert "its jiti:deployment tag is 'apps/o-mine:deploy', not 'apps/o-other:deploy'" in (
        found["o-shared-dev"].reason
    )
    assert found["o-base-dev"].reason.startswith("o-user-dev depends on it and is not being")
    assert {"o-theirs-dev", "o-shared-dev", "o-base-dev", "o-user-dev"} <= live(destination)


def test_a_protected_environment_stops_the_run_before_anything_is_deleted(
    destination, destinations, deploy
):
    deploy("p-one", "destroy-protected")
    deploy("p-two", "destroy-protected")
    inv = inventory("destroy-protected", "p-one", "p-two")
    with pytest.raises(destroy.Refused) as refused:
        run(destinations, inv, "p-one", "p-two", protected=("prod", "dev"))
    assert str(refused.value) == (
        "destroy-stacks: apps/p-one:deploy (dev), apps/p-two:deploy (dev): a protected "
        "environment ([jiti].protected_environments); add --jiti-destroy-protected to destroy it"
    )
    assert {"p-one-dev", "p-two-dev"} <= live(destination)


def versioned_bucket(destination, name: str) -> None:
    """Two versions of one object and a delete marker of another: S3 deletes no bucket that
    holds any of them."""
    s3 = destination.client("s3")
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=name, Key="a", Body=b"1")
    s3.put_object(Bucket=name, Key="a", Body=b"2")
    s3.put_object(Bucket=name, Key="b", Body=b"3")
    s3.delete_object(Bucket=name, Key="b")


def test_retained_resources_are_listed_and_kept_or_deleted_with_destroy_data(
    destination, destinations, deploy
):
    bucket = {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"}
    bucket["Properties"] = {"BucketName": "r-data-files"}
    deploy("r-keep", "destroy-data", {**QUEUE, "Table": table("r-keep-orders", "Retain")})
    deploy("r-drop", "destroy-data", {"Table": table("r-drop-orders", "Retain"), "Files": bucket})
    versioned_bucket(destination, "r-data-files")
    inv = inventory("destroy-data", "r-keep", "r-drop")
    kept = run(destinations, inv, "r-keep")["r-keep-dev"]
    assert kept.result is Result.DELETED
    assert [(r["physical_id"], r["fate"]) for r in kept.retained] == [("r-keep-orders", "kept")]
    assert kept.retained[0]["command"].startswith("aws dynamodb delete-table --table-name r-keep")
    dynamodb = destination.client("dynamodb")
    assert "r-keep-orders" in dynamodb.list_tables()["TableNames"]
    dropped = run(destinations, inv, "r-drop", destroy_data=True)["r-drop-dev"]
    assert dropped.result is Result.DELETED
    assert sorted((r["physical_id"], r["fate"]) for r in dropped.retained) == [
        ("r-data-files", "deleted"),
        ("r-drop-orders", "deleted"),
    ]
    assert "r-drop-orders" not in dynamodb.list_tables()["TableNames"]
    buckets = destination.client("s3").list_buckets()["Buckets"]
    assert "r-data-files" not in {b["Name"] for b in buckets}


def test_a_whole_preview_goes_by_its_tag_dependents_first(destination, destinations, deploy):
    """The preview's copies carry their deployments' tags under other stack names; the dev
    stacks and another preview stay."""
    for app in ("w-api", "w-web"):
        deploy(app, "destroy-preview", depends_on=("apps/w-api:deploy",) if app == "w-web" else ())
        for preview in ("pr-9", "pr-10"):
            deploy(
                app,
                "destroy-preview",
                stack=f"{app}-{preview}",
                tags={PREVIEW_TAG: preview},
                depends_on=("apps/w-api:deploy",) if app == "w-web" else (),
            )
    inv = inventory("destroy-preview", "w-api", "w-web")
    outcomes, logged = [], []
    options = dict(confirm=True, destroy_data=False, max_parallel=2, outcomes=outcomes)
    destroy.run(destinations, inv, preview="pr-9", log=logged.append, **options)
    assert {o.stack: o.result for o in outcomes} == {
        "w-api-pr-9-dev": Result.DELETED,
        "w-web-pr-9-dev": Result.DELETED,
    }
    deleting = [line.split("] deleting ")[1].split()[0] for line in logged if "] deleting " in line]
    assert deleting == ["w-web-pr-9-dev", "w-api-pr-9-dev"]
    left = live(destination)
    assert {"w-api-dev", "w-web-dev", "w-api-pr-10-dev", "w-web-pr-10-dev"} <= left
    assert not {"w-api-pr-9-dev", "w-web-pr-9-dev"} & left
    # A dev producer that only previews with their own copy of it depend on goes too.
    assert results(run(destinations, inv, "w-web", "w-api")) == {
        "w-web-dev": Result.DELETED,
        "w-api-dev": Result.DELETED,
    }


def test_the_destroy_mode_writes_its_report_and_refuses_protected_in_one_line(
    destination, deploy, endpoint, tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(
        "jiti_deploy.local_aws.ensure_running",
        lambda state_dir, log=print: LocalAws(endpoint=endpoint, pid=0),
    )
    deploy("m-app", "destroy-main", {"Table": table("m-app-orders", "Retain")})
    path = tmp_path / "inventory.json"
    path.write_text(to_json(inventory("destroy-main", "m-app")))
    report = tmp_path / "destroy-report.json"
    argv = ["--mode", "destroy", "--inventory", str(path), "--report", str(report)]
    argv += ["--state-dir", str(tmp_path / "state"), "--deployment", "apps/m-app:deploy"]
    assert main([*argv, "--confirm", "--protected", "dev"]) == EXIT_USER_ERROR
    assert output.flushed(timeout_s=5)
    (line,) = [x for x in capsys.readouterr().err.splitlines() if x]
    assert line.startswith("error: destroy-stacks: apps/m-app:deploy (dev): a protected")
    assert main([*argv, "--confirm"]) == 0
    assert output.flushed(timeout_s=5)
    (row,) = json.loads(report.read_text())["stacks"]
    assert (row["stack"], row["result"], row["account"]) == ("m-app-dev", "deleted", "123456789012")
    assert [(r["physical_id"], r["fate"]) for r in row["retained"]] == [("m-app-orders", "kept")]
