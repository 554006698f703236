"""The IAM policy documents of `docs/iam/` are sufficient and minimal: real deploys, dry runs,
read-only plans and prunes run against the local AWS through the proxy, which records every call; each call's
IAM actions (and resources) must be allowed by the role's document, and every action the
document allows must be used by some recorded run."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
import tomllib
from cfn_flip import load as load_yaml  # a declared requirement, unlike PyYAML

from jiti_contract import (
    ASSETS_BUCKET_PARAMETER,
    Input,
    Inventory,
    PreviewSettings,
    StackPlace,
    StackSetSettings,
)
from jiti_deploy import batch, destroy, drift, iam_calls, plan_mode, preview
from jiti_deploy import prune as jiti_prune
from jiti_deploy.destinations import Destinations
from jiti_deploy.report import Result
from jiti_deploy.testutil import quiet, table

DOCS = Path(__file__).absolute().parents[2] / "docs" / "iam"
REGION = "eu-west-2"  # the proxy fixture's default region
REPOSITORY = "iam-test"
ACCOUNT = "123456789012"  # the local AWS's default account
ASSETS_BUCKET = "jiti-assets-iam-test-{account}-{region}"  # within the documents' jiti-assets-*
QUEUE = {"Q": {"Type": "AWS::SQS::Queue"}}
TRUST = {
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ]
}


def function(code: bytes) -> dict:
    """A Lambda function whose code is an asset, and its role."""
    key = f"assets/{hashlib.sha256(code).hexdigest()}.zip"
    properties = {
        "Runtime": "python3.11",
        "Handler": "handler.handle",
        "Role": {"Fn::GetAtt": ["Role", "Arn"]},
        "Code": {"S3Bucket": {"Ref": ASSETS_BUCKET_PARAMETER}, "S3Key": key},
    }
    return {
        "Parameters": {ASSETS_BUCKET_PARAMETER: {"Type": "String"}},
        "Resources": {
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": TRUST}},
            "Fn": {"Type": "AWS::Lambda::Function", "Properties": properties},
        },
    }


# Over the 51,200 bytes CreateChangeSet takes inline: it goes through the assets bucket.
LARGE = {"Metadata": {"Padding": "x" * 60_000}, "Resources": QUEUE}
PRODUCER = {"Resources": QUEUE, "Outputs": {"Url": {"Value": {"Ref": "Q"}}}}
CONSUMER = {
    "Parameters": {"Url": {"Type": "String"}, "Colour": {"Type": "String"}},
    "Resources": QUEUE,
    "Outputs": {"Seen": {"Value": {"Ref": "Url"}}},
}


def aws(tmp_path) -> Destinations:
    """The local AWS through the proxy, as a real account is reached, with an assets bucket
    of this test's own, so that its runs create it whatever other tests did."""
    return Destinations("aws", tmp_path, log=quiet, assets_bucket=ASSETS_BUCKET)


def zip_of(version: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", f"def handle(event, context):\n    return {version!r}\n")
    return buffer.getvalue()


def deployments(make, version: str) -> list:
    """Every kind of deployment: an asset, a large template, a StackSet, data under a stack
    policy with termination protection, and a consumer of another's output and an SSM value."""
    producer = StackPlace("apps/iam-producer:deploy", "iam-producer-dev", region=REGION)
    common = {"region": REGION, "repository": REPOSITORY}
    code = zip_of(version)
    return [
        make(
            "iam-fn",
            function(code),
            {"apps/iam-fn:lambda": code},
            capabilities=("CAPABILITY_IAM",),
            **common,
        ),
        make("iam-large", {**LARGE, "Outputs": {"V": {"Value": version}}}, **common),
        make(
            "iam-set",
            {"Resources": QUEUE, "Outputs": {"V": {"Value": version}}},
            {"apps/iam-set:lambda": b"set" + version.encode()},
            stack_set=StackSetSettings(("111111111111",), (REGION,), 100, 0),
            **common,
        ),
        make(
            "iam-data",
            {"Resources": {"T": table(f"iam-data-{version}", "Retain")}},
            termination_protection=True,
            **common,
        ),
        make("iam-producer", {**PRODUCER, "Metadata": {"V": version}}, **common),
        make(
            "iam-consumer",
            {**CONSUMER, "Metadata": {"V": version}},
            inputs=(
                Input("Url", producer=producer, output="Url"),
                Input("Colour", ssm_parameter="/iam-test/{env}/colour"),
            ),
            depends_on=(producer.address,),
            **common,
        ),
    ]


def run(make, tmp_path, version: str, *, dry_run: bool, force: bool = False) -> None:
    outcomes = batch.run(
        aws(tmp_path),
        deployments(make, version),
        dry_run=dry_run,
        force=force,
        max_parallel=2,
        log=quiet,
    )
    expected = Result.DRY_RUN if dry_run else Result.DEPLOYED
    assert [(o.deployment, o.result, o.error) for o in outcomes] == [
        (o.deployment, expected, None) for o in outcomes
    ]


def plan(make, tmp_path, version: str) -> None:
    """A read-only plan (`plan-stacks`) of every kind of deployment, new or live."""
    entries = plan_mode.run(aws(tmp_path), deployments(make, version), max_parallel=2, log=quiet)
    assert {(e["status"], e["error"]) for e in entries if e["status"] != "skipped"} <= {
        ("new", None),
        ("changes", None),
    }, entries


def prune(tmp_path, kept: tuple[str, ...], *, assets: bool) -> dict:
    """Prune what the repository no longer deploys (all but `kept`), and with `assets`, the
    assets no live stack uses; the result of each stack."""
    places = tuple(StackPlace(f"apps/{n}:deploy", f"{n}-dev", region=REGION) for n in kept)
    outcomes: list = []
    jiti_prune.run(
        aws(tmp_path),
        Inventory(REPOSITORY, places),
        confirm=True,
        max_parallel=2,
        assets_grace_days=0 if assets else None,
        outcomes=outcomes,
        assets=[],
        log=quiet,
    )
    return {o.stack: o.result for o in outcomes}


def detect_drift(tmp_path) -> None:
    places = tuple(StackPlace(f"apps/{n}:deploy", f"{n}-dev", region=REGION) for n in EVERY_APP)
    outcomes = drift.run(aws(tmp_path), places[:2], max_parallel=2, log=quiet)
    assert {o.result for o in outcomes} == {Result.IN_SYNC}


EVERY_APP = ("iam-fn", "iam-large", "iam-set", "iam-data", "iam-producer", "iam-consumer")


def recorded_runs(proxy, make, tmp_path) -> dict[str, list]:
    """The calls of each role's runs: the plan role's (read-only plans of new and live stacks),
    the deploy role's (dry runs, creates, updates, a forced deploy of what is live, prunes) and
    the drift role's (drift detection)."""
    aws(tmp_path).get(None, REGION, None).client("ssm").put_parameter(
        Name="/iam-test/dev/colour", Value="teal", Type="String", Overwrite=True
    )
    runs: dict[str, list] = {"plan": [], "deploy": [], "drift": []}
    for role, step in [
        ("plan", lambda: plan(make, tmp_path, "one")),
        ("deploy", lambda: run(make, tmp_path, "one", dry_run=True)),
        ("deploy", lambda: run(make, tmp_path, "one", dry_run=False)),
        ("deploy", lambda: run(make, tmp_path, "two", dry_run=False)),
        ("deploy", lambda: run(make, tmp_path, "two", dry_run=False, force=True)),
        ("plan", lambda: plan(make, tmp_path, "three")),
        ("deploy", lambda: run(make, tmp_path, "three", dry_run=True)),
        ("drift", lambda: detect_drift(tmp_path)),
        ("deploy", lambda: prune(tmp_path, EVERY_APP, assets=True)),  # the old assets
        ("deploy", lambda: prune(tmp_path, EVERY_APP[:1], assets=False)),  # stacks, a StackSet
    ]:
        proxy.calls.clear()
        step()
        runs[role] += proxy.calls
    return runs


def test_each_role_s_document_allows_what_its_runs_do_and_nothing_else(proxy, make, tmp_path):
    runs = recorded_runs(proxy, make, tmp_path)
    for role, calls in runs.items():
        recording = iam_calls.Recording(ACCOUNT, REGION)
        needs = {n for c in calls for n in recording.needs(c)}
        grants = iam_calls.grants(DOCS / f"{role}-policy.json")
        refused = sorted(
            {(n.action, n.resource) for n in needs if not any(g.allows(n) for g in grants)}
        )
        assert refused == [], f"{role}-policy.json does not allow what a {role} run needs"
        unused = sorted({(g.sid, g.action) for g in grants if not any(g.allows(n) for n in needs)})
        assert unused == [], f"{role}-policy.json allows what no {role} run needs"


def retained_data() -> dict:
    """A table, a bucket and a log group that outlive their stack."""
    kept = {"DeletionPolicy": "Retain"}
    return {
        "Resources": {
            "T": table("iam-kept-table", "Retain"),
            "B": {"Type": "AWS::S3::Bucket", **kept, "Properties": {"BucketName": "iam-kept"}},
            "L": {
                "Type": "AWS::Logs::LogGroup",
                **kept,
                "Properties": {"LogGroupName": "iam-kept"},
            },
        }
    }


def test_destroy_data_needs_the_deploy_document_and_the_destroy_data_one_only(
    proxy, make, tmp_path
):
    """`destroy-stacks --jiti-destroy-data` runs with the deploy role and, attached to it only
    where data may be deleted, `destroy-data-policy.json`: together they allow every call, and
    that document allows nothing the run did not use."""
    d = make("iam-kept", retained_data(), region=REGION, repository=REPOSITORY)
    (deployed,) = batch.run(
        aws(tmp_path), [d], dry_run=False, force=False, max_parallel=1, log=quiet
    )
    assert deployed.result is Result.DEPLOYED, deployed.error
    s3 = aws(tmp_path).get(None, REGION, None).client("s3")
    s3.put_bucket_versioning(Bucket="iam-kept", VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket="iam-kept", Key="a", Body=b"1")
    proxy.calls.clear()
    outcomes: list = []
    place = StackPlace(d.address, d.stack_name, region=REGION)
    destroy.run(
        aws(tmp_path),
        Inventory(REPOSITORY, (place,)),
        selected=(d.address,),
        confirm=True,
        destroy_data=True,
        max_parallel=1,
        outcomes=outcomes,
        log=quiet,
    )
    (gone,) = outcomes
    assert [r["fate"] for r in gone.retained] == ["deleted"] * 3, gone.retained
    recording = iam_calls.Recording(ACCOUNT, REGION)
    needs = {n for c in proxy.calls for n in recording.needs(c)}
    data = iam_calls.grants(DOCS / "destroy-data-policy.json")
    grants = iam_calls.grants(DOCS / "deploy-policy.json") + data
    refused = sorted(
        {(n.action, n.resource) for n in needs if not any(g.allows(n) for g in grants)}
    )
    assert refused == []
    unused = sorted({(g.sid, g.action) for g in data if not any(g.allows(n) for n in needs)})
    assert unused == []


def test_the_documents_keep_to_jiti_s_own_bucket_and_the_plan_changes_nothing():
    """Resource patterns and the plan's limits, on what the runs above never try."""
    deploy = iam_calls.grants(DOCS / "deploy-policy.json")
    plan = iam_calls.grants(DOCS / "plan-policy.json")

    def allowed(grants, action, resource):
        need = iam_calls.Need(action, resource, "?")
        return any(g.allows(need) for g in grants)

    assert allowed(deploy, "s3:PutObject", "arn:aws:s3:::jiti-assets-1-eu-west-2/assets/a.zip")
    assert not allowed(deploy, "s3:PutObject", "arn:aws:s3:::someone-else/assets/a.zip")
    assert not allowed(deploy, "s3:PutBucketPolicy", "arn:aws:s3:::someone-else")
    for action in (
        "cloudformation:ExecuteChangeSet",
        "cloudformation:UpdateStack",
        "cloudformation:CreateChangeSet",  # a CREATE change set makes an (empty) stack
        "cloudformation:DeleteStack",
        "s3:PutObject",
    ):
        assert not allowed(plan, action, "*") and not any(
            allowed(plan, action, r)
            for r in (
                "arn:aws:cloudformation:eu-west-2:1:stack/a/b",
                "arn:aws:s3:::jiti-assets-1-eu-west-2/a",
            )
        )


@pytest.mark.parametrize(
    "role, subject",
    [
        ("deploy", "repo:ORG/REPO:environment:production"),
        ("plan", "repo:ORG/REPO:pull_request"),
        ("drift", "repo:ORG/REPO:ref:refs/heads/main"),
        ("preview", "repo:ORG/REPO:pull_request"),
    ],
)
def test_each_role_trusts_one_exact_github_subject(role, subject):
    """`StringEquals` on `sub` and `aud`: no wildcard lets another branch or a pull request in."""
    (statement,) = json.loads((DOCS / f"{role}-trust-policy.json").read_text())["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": subject,
        }
    }


def ci_recipe() -> dict:
    """The GitHub Actions workflow of docs/ci.md (its first YAML block)."""
    text = (DOCS.parent / "ci.md").read_text()
    section = text[text.index("## GitHub Actions") :]
    workflow, _ = load_yaml(section.split("```yaml\n", 1)[1].split("```", 1)[0])
    return json.loads(json.dumps(workflow))


def roles_of(job: dict) -> set[str]:
    """The roles a job of the recipe signs in with."""
    return {
        step["with"]["role-to-assume"]
        for step in job["steps"]
        if "configure-aws-credentials" in step.get("uses", "")
    }


def test_pull_requests_get_only_the_plan_role_and_never_write_the_cache():
    workflow = ci_recipe()
    assert workflow["permissions"] == {}
    assert "PANTS_REMOTE_CACHE_WRITE" not in workflow["env"]
    jobs = workflow["jobs"]
    for name, job in jobs.items():
        if "pull_request" in job["if"]:
            assert {r.rsplit(":", 1)[1] for r in roles_of(job)} <= {"role/jiti-plan"}, name
        if job.get("env", {}).get("PANTS_REMOTE_CACHE_WRITE") == "true":
            assert job["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    plan, deploy = jobs["plan"], jobs["deploy"]
    assert [r.rsplit(":", 1)[1] for r in roles_of(plan)] == ["role/jiti-plan"]
    assert any("plan-stacks" in step.get("run", "") for step in plan["steps"])
    assert all("actions/cache@" not in s.get("uses", "") for s in plan["steps"])
    assert deploy["environment"] == "production"
    assert deploy["permissions"]["id-token"] == "write"
    assert [r.rsplit(":", 1)[1] for r in roles_of(deploy)] == ["role/jiti-deploy"]
    assert any(
        "--jiti-expect-plan=dist/jiti-plan.json" in step.get("run", "")
        and "deploy-stacks" in step["run"]
        for step in deploy["steps"]
    )


def test_the_ci_config_reads_the_shared_cache_and_writes_it_only_when_a_job_says_so():
    config = tomllib.loads((DOCS.parents[1] / "pants.ci.toml").read_text())
    assert config["GLOBAL"]["remote_cache_read"] is True
    assert config["GLOBAL"]["remote_cache_write"] is False


def preview_copy(deployment, now: float):
    """The deployment's copy in the preview `pr-1`, as the plugin plans it, loaded at `now`."""
    plan = dataclasses.replace(
        deployment.plan,
        stack_name=f"{deployment.plan.app}-pr-1",
        environment="pr-1",
        preview=PreviewSettings("pr-1", "dev", 72),
        depends_on=(),
    )
    return dataclasses.replace(deployment, plan=plan, expires=preview.expires_at(now, 72))


def preview_runs(proxy, make, tmp_path) -> list:
    """A pull request's calls: its preview planned, deployed (a function, and a consumer reading
    the dev producer), renewed an hour later, and destroyed whole."""
    common = {"region": REGION, "repository": REPOSITORY}
    producer = make("iam-pv-producer", PRODUCER, **common)
    base_run = batch.run(aws(tmp_path), [producer], dry_run=False, max_parallel=1, log=quiet)
    assert [o.result for o in base_run] == [Result.DEPLOYED]
    code = zip_of("preview")
    base = [
        make("iam-pv-fn", function(code), {"apps/iam-pv-fn:lambda": code},
             capabilities=("CAPABILITY_IAM",), **common),
        make("iam-pv-consumer", CONSUMER, **common, inputs=(
            Input("Url", producer=producer.place, output="Url"),
            Input("Colour", ssm_parameter="/iam-test/dev/colour"),
        )),
    ]  # fmt: skip
    aws(tmp_path).get(None, REGION, None).client("ssm").put_parameter(
        Name="/iam-test/dev/colour", Value="teal", Type="String", Overwrite=True
    )
    proxy.calls.clear()
    for now, dry_run in [(0, True), (0, False), (2 * 3600, False)]:
        copies = [preview_copy(d, 1_800_000_000 + now) for d in base]
        outcomes = batch.run(aws(tmp_path), copies, dry_run=dry_run, max_parallel=2, log=quiet)
        expected = Result.DRY_RUN if dry_run else Result.DEPLOYED
        assert [(o.result, o.error) for o in outcomes] == [(expected, None)] * 2
    gone: list = []
    places = tuple(d.place for d in [producer, *base])
    destroy.run(aws(tmp_path), Inventory(REPOSITORY, places), preview="pr-1", confirm=True,
                destroy_data=False, max_parallel=2, outcomes=gone, log=quiet)  # fmt: skip
    assert sorted((o.stack, o.result) for o in gone) == [
        ("iam-pv-consumer-pr-1", Result.DELETED),
        ("iam-pv-fn-pr-1", Result.DELETED),
    ]
    return list(proxy.calls)


def test_the_preview_document_allows_what_a_preview_does_and_only_on_preview_stacks(
    proxy, make, tmp_path
):
    """`preview-policy.json`, for pull requests' previews: every call of planning, deploying,
    renewing and destroying a preview is allowed, nothing else is, and no stack outside the
    previews' names (`*-pr-*`) can be changed."""
    calls = preview_runs(proxy, make, tmp_path)
    recording = iam_calls.Recording(ACCOUNT, REGION)
    needs = {n for c in calls for n in recording.needs(c)}
    grants = iam_calls.grants(DOCS / "preview-policy.json")
    refused = sorted(
        {(n.action, n.resource) for n in needs if not any(g.allows(n) for g in grants)}
    )
    assert refused == []
    unused = sorted({(g.sid, g.action) for g in grants if not any(g.allows(n) for n in needs)})
    assert unused == [], "\n".join(map(str, unused))
    for action in ("ExecuteChangeSet", "UpdateStack", "DeleteStack", "CreateChangeSet"):
        need = iam_calls.Need(
            f"cloudformation:{action}", "arn:aws:cloudformation:eu-west-2:1:stack/shop-dev/x", "?"
        )
        assert not any(g.allows(need) for g in grants), action


def test_the_preview_workflow_gets_the_preview_role_only_for_the_repository_s_pull_requests():
    """docs/ci.md's preview workflow: deploy on push, destroy on close, never for a fork, with
    the role whose document is tested above and nothing stronger."""
    text = (DOCS.parent / "ci.md").read_text()
    section = text[text.index("## Preview environments") :]
    workflow, _ = load_yaml(section.split("```yaml\n", 1)[1].split("```", 1)[0])
    workflow = json.loads(json.dumps(workflow))
    triggers = workflow.get("on", workflow.get("true"))  # YAML 1.1 reads `on` as true
    assert list(triggers) == ["pull_request"] and workflow["permissions"] == {}
    commands = []
    for job in workflow["jobs"].values():
        assert "!github.event.pull_request.head.repo.fork" in job["if"]
        roles = [
            s["with"]["role-to-assume"]
            for s in job["steps"]
            if "with" in s and "role-to-assume" in s["with"]
        ]
        assert roles == ["arn:aws:iam::111111111111:role/jiti-preview"]
        commands += [s["run"] for s in job["steps"] if "./pants" in s.get("run", "")]
    assert commands == [
        "./pants --jiti-target=aws --changed-since=origin/main --changed-dependents=transitive "
        "--jiti-preview=pr-${{ github.event.number }} deploy-stacks",
        "./pants --jiti-target=aws --jiti-preview=pr-${{ github.event.number }} destroy-stacks "
        "--jiti-destroy-confirm",
    ]
