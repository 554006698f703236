"""Deploying end to end against the local AWS: create, skip what is live, dry run, update,
and a failed create reported and then recovered."""

from __future__ import annotations

import json
import re

import pytest

APPS = ("greeter", "orders", "reports", "site")
FAILING_TEMPLATE = {
    "Resources": {
        "Fn": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "FunctionName": "broken-fn",
                "Runtime": "python3.11",
                "Handler": "x.handler",
                "Role": "arn:aws:iam::123456789012:role/none",
                "Code": {"S3Bucket": "jiti-no-such-bucket", "S3Key": "missing.zip"},
            },
        }
    }
}
FIXED_TEMPLATE = {"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}}


@pytest.fixture(scope="module")
def repo(make_repo):
    repo = make_repo()
    repo.pants("package", "experimental-deploy", "::")
    return repo


def stack(repo, name: str) -> dict:
    return repo.aws("cloudformation").describe_stacks(StackName=name)["Stacks"][0]


def tags(description: dict) -> dict:
    return {t["Key"]: t["Value"] for t in description.get("Tags", [])}


def version(description: dict) -> str:
    """The version jiti recorded on the stack (an output, never a tag)."""
    return {o["OutputKey"]: o["OutputValue"] for o in description.get("Outputs", [])}["JitiVersion"]


def event_count(repo, name: str) -> int:
    """Every event of the stack, on every page (CloudFormation pages them 100 at a time)."""
    pages = (
        repo.aws("cloudformation").get_paginator("describe_stack_events").paginate(StackName=name)
    )
    return sum(len(page["StackEvents"]) for page in pages)


def change_sets(repo, name: str) -> list[dict]:
    """The stack's change sets (the local AWS lists executed ones, and every stack's, too)."""
    summaries = repo.aws("cloudformation").list_change_sets(StackName=name)["Summaries"]
    return [s for s in summaries if s["StackName"] == name]


def test_every_app_is_live_at_its_packaged_version(repo):
    for app in APPS:
        live = stack(repo, repo.stack(app))
        assert live["StackStatus"] == "CREATE_COMPLETE"
        assert version(live) == repo.manifest(app)["version"]
        assert "jiti:version" not in tags(live)
        assert tags(live)["jiti:app"] == app and tags(live)["jiti:env"] == "dev"
    outputs = json.loads((repo.root / "dist/apps.greeter/stack.deploy.outputs.json").read_text())
    assert outputs["ApiUrl"].startswith("https://")
    # The site's files were published into its bucket.
    bucket = {o["OutputKey"]: o["OutputValue"] for o in stack(repo, repo.stack("site"))["Outputs"]}[
        "SiteName"
    ]
    keys = {o["Key"] for o in repo.aws("s3").list_objects_v2(Bucket=bucket)["Contents"]}
    assert keys == {"index.html", "style.css"}


def test_redeploying_an_unchanged_app_touches_nothing(repo):
    before = event_count(repo, repo.stack("greeter")), len(change_sets(repo, repo.stack("greeter")))
    result = repo.pants("run", "apps/greeter:deploy")
    where = "target: AWS account" if repo.run.sandbox else "target: local AWS at http://127.0.0.1:"
    assert where in result.stdout
    assert (
        f"{repo.stack('greeter')}: up to date (version {repo.manifest('greeter')['version'][:12]})"
        in result.stdout
    )
    assert (
        event_count(repo, repo.stack("greeter")),
        len(change_sets(repo, repo.stack("greeter"))),
    ) == before


def test_dry_run_shows_the_change_and_changes_nothing_then_deploy_updates(repo):
    live_version = version(stack(repo, repo.stack("greeter")))
    tags_before = tags(stack(repo, repo.stack("greeter")))
    sets_before = len(change_sets(repo, repo.stack("greeter")))
    repo.edit("apps/greeter/handler.py", "Hello, ", "Hello again, ")
    dry = repo.pants("run", "apps/greeter:deploy", "--", "--dry-run").stdout
    assert "~ Modify  Handler" in dry and "AWS::Lambda::Function" in dry
    # Exactly what the code change changes: no resource listed for tags.
    assert re.findall(r"~ Modify\s+(\S+)", dry) == ["Handler"]
    assert "dry run, nothing changed" in dry
    assert version(stack(repo, repo.stack("greeter"))) == live_version
    assert len(change_sets(repo, repo.stack("greeter"))) == sets_before  # created, shown, deleted

    repo.pants("package", "apps/greeter:stack")
    new_version = repo.manifest("greeter")["version"]
    assert new_version != live_version
    result = repo.pants("run", "apps/greeter:deploy").stdout
    assert f"{repo.stack('greeter')}: deployed version {new_version[:12]}" in result
    live = stack(repo, repo.stack("greeter"))
    assert live["StackStatus"] == "UPDATE_COMPLETE" and version(live) == new_version
    assert tags(live) == tags_before  # nothing re-tagged


def test_failed_create_is_reported_and_the_next_deploy_recovers(repo):
    repo.write(
        "apps/broken/BUILD",
        'cloudformation_stack(name="stack", source="template.json")\n'
        'cloudformation_deployment(name="deploy", stack=":stack", region="us-east-1")\n',
    )
    repo.write("apps/broken/template.json", json.dumps(FAILING_TEMPLATE))
    failed = repo.pants("run", "apps/broken:deploy", check=False)
    assert failed.returncode != 0
    assert f"{repo.stack('broken')}: deployment failed, stack is ROLLBACK_COMPLETE" in failed.stderr
    assert "Fn (AWS::Lambda::Function): " in failed.stderr and "NoSuchBucket" in failed.stderr
    assert "deploy again" in failed.stderr
    assert "Traceback" not in failed.stdout + failed.stderr
    assert stack(repo, repo.stack("broken"))["StackStatus"] == "ROLLBACK_COMPLETE"

    repo.write("apps/broken/template.json", json.dumps(FIXED_TEMPLATE))
    recovered = repo.pants("run", "apps/broken:deploy").stdout
    assert (
        f"{repo.stack('broken')} is ROLLBACK_COMPLETE from an earlier failed create: deleting it"
        in recovered
    )
    assert stack(repo, repo.stack("broken"))["StackStatus"] == "CREATE_COMPLETE"


def test_unknown_parameter_names_the_field(repo):
    repo.write(
        "apps/broken/BUILD",
        'cloudformation_stack(name="stack", source="template.json")\n'
        'cloudformation_deployment(name="deploy", stack=":stack", parameters={"Nope": "1"})\n',
    )
    result = repo.pants("run", "apps/broken:deploy", check=False)
    assert result.returncode != 0
    assert (
        "apps/broken:deploy: field `parameters`: Nope not declared by the template" in result.stderr
    )


# --- where a deploy goes --------------------------------------------------------------------


def report_rows(repo) -> list[dict]:
    return json.loads((repo.root / "dist/jiti-deploy-report.json").read_text())["deployments"]


@pytest.mark.local_only("about deploys to the local AWS")
def test_a_default_aws_profile_does_not_take_deploys_off_the_local_aws(repo, tmp_path):
    """The README's main command, on a laptop with AWS credentials configured, still deploys to
    the local AWS: real deploys are opted into, never guessed."""
    (tmp_path / "credentials").write_text(
        "[default]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = example\n"
    )
    (tmp_path / "config").write_text("[default]\nregion = us-east-1\n")
    aws_profile = {
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
    }
    result = repo.pants("deploy-stacks", "apps/site:deploy", env=aws_profile)
    assert "target: local AWS at http://127.0.0.1:" in result.stdout
    assert [(r["target"], r["result"]) for r in report_rows(repo)] == [("local", "up to date")]


@pytest.mark.local_only("deploys with --jiti-target=local")
def test_a_ci_job_must_say_where_it_deploys(repo):
    result = repo.pants("deploy-stacks", "apps/site:deploy", env={"CI": "true"}, check=False)
    assert result.returncode != 0
    assert "CI is set: a CI job must say where it deploys" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    local = repo.pants(
        "--jiti-target=local", "deploy-stacks", "apps/site:deploy", env={"CI": "true"}
    )
    assert f"{repo.stack('site')}: up to date" in local.stdout
