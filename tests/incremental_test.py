"""CI flows end to end: `--changed-since` selects deployments, the content version skips what
is live, `deploy-stacks` orders dependencies, isolates failures and reports them."""

from __future__ import annotations

import json

import pytest

CHANGED = ("--changed-since=HEAD~1", "--changed-dependents=transitive")
# The production copies: two accounts x two regions.
COPIES = [
    f"prod@account={account},region={region}"
    for account in ("111111111111", "222222222222")
    for region in ("eu-west-1", "us-east-1")
]
GREETER_PROD = [f"apps/greeter:{copy}" for copy in COPIES]
ORDERS_PROD = [f"apps/orders:{copy}" for copy in COPIES]
# reports takes orders' outputs, so every change to orders selects it; the content version and
# the values it takes decide whether it deploys.
REPORTS = ["apps/reports:deploy", *(f"apps/reports:{copy}" for copy in COPIES)]
QUEUE = {"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}}
FAILING = {
    "Resources": {
        "Fn": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Runtime": "python3.11",
                "Handler": "x.handler",
                "Role": "arn:aws:iam::123456789012:role/none",
                "Code": {"S3Bucket": "jiti-no-such-bucket", "S3Key": "missing.zip"},
            },
        }
    }
}


def plain_app(repo, name: str, template: dict, depends_on: str | None = None) -> None:
    deps = f', dependencies=["{depends_on}"]' if depends_on else ""
    repo.write(
        f"tests/stacks/{name}/BUILD",
        f'cloudformation_stack(name="stack", source="template.json")\n'
        f'cloudformation_deployment(name="deploy", stack=":stack"{deps})\n',
    )
    repo.write(f"tests/stacks/{name}/template.json", json.dumps(template))


def report(repo) -> dict[str, dict]:
    rows = json.loads((repo.root / "dist/jiti-deploy-report.json").read_text())["deployments"]
    return {row["deployment"]: row for row in rows}


def results(repo) -> dict[str, str]:
    return {address: row["result"] for address, row in report(repo).items()}


def event_counts(repo) -> dict[str, int]:
    """Every event of each stack, on every page (CloudFormation pages them 100 at a time)."""
    paginator = repo.aws("cloudformation").get_paginator("describe_stack_events")
    return {
        n: sum(len(page["StackEvents"]) for page in paginator.paginate(StackName=n))
        for n in (repo.stack("greeter"), repo.stack("orders"), repo.stack("site"))
    }


@pytest.fixture(scope="module")
def repo(make_repo):
    repo = make_repo()
    repo.pants("deploy-stacks", "apps::")
    assert set(results(repo).values()) == {"deployed"}
    return repo


def test_an_app_change_redeploys_only_that_app(repo):
    before = event_counts(repo)
    repo.edit("apps/orders/worker.py", '"status": "stored"', '"status": "kept"')
    repo.commit("orders: rename the stored status")
    out = repo.pants(*CHANGED, "deploy-stacks").stdout
    assert results(repo) == {
        "apps/orders:deploy": "deployed",
        **{address: "deployed" for address in ORDERS_PROD},
        **{address: "up to date" for address in REPORTS},
    }
    after = event_counts(repo)
    assert (
        after[repo.stack("greeter")] == before[repo.stack("greeter")]
        and after[repo.stack("site")] == before[repo.stack("site")]
    )
    assert after[repo.stack("orders")] > before[repo.stack("orders")]
    assert "apps/orders:deploy" in out and repo.stack("orders") in out


def test_a_shared_library_change_redeploys_its_users_only(repo):
    repo.edit(
        "apps/shared/http.py",
        '"Content-Type": "application/json"',
        '"Content-Type": "application/json; charset=utf-8"',
    )
    repo.commit("shared: say the charset")
    repo.pants(*CHANGED, "deploy-stacks")
    assert results(repo) == {
        "apps/greeter:deploy": "deployed",
        "apps/orders:deploy": "deployed",
        **{address: "deployed" for address in GREETER_PROD + ORDERS_PROD},
        **{address: "up to date" for address in REPORTS},
    }


def test_a_docs_only_commit_deploys_nothing_and_says_so(repo):
    repo.edit("README.md", "# jiti", "# jiti, again")
    repo.commit("docs only")
    result = repo.pants(*CHANGED, "deploy-stacks")
    assert "nothing to deploy" in result.stdout


def test_an_infra_lib_change_redeploys_only_the_stacks_whose_template_changes(repo):
    repo.edit(
        "infra-lib/jiti_infra/constructs/messaging.py",
        "MessageRetentionPeriod=14 * 24 * 3600",
        "MessageRetentionPeriod=7 * 24 * 3600",
    )
    repo.commit("infra-lib: keep dead letters a week")
    repo.pants(*CHANGED, "deploy-stacks")
    # Git selects every app (they all use infra-lib); the content version deploys only orders.
    assert results(repo) == {
        "apps/greeter:deploy": "up to date",
        "apps/orders:deploy": "deployed",
        "apps/site:deploy": "up to date",
        **{address: "deployed" for address in ORDERS_PROD},
        **{address: "up to date" for address in GREETER_PROD + REPORTS},
    }


def test_a_failure_skips_its_dependents_and_spares_the_rest_then_a_rerun_finishes(repo):
    plain_app(repo, "base", QUEUE)
    plain_app(repo, "consumer", QUEUE, depends_on="tests/stacks/base:deploy")
    plain_app(repo, "broken", FAILING)
    plain_app(repo, "after", QUEUE, depends_on="tests/stacks/broken:deploy")
    repo.commit("four stacks, one broken")
    failed = repo.pants("--jiti-max-parallel=2", "deploy-stacks", "tests/stacks::", check=False)
    assert failed.returncode != 0
    assert results(repo) == {
        "tests/stacks/after:deploy": "skipped: dependency failed",
        "tests/stacks/base:deploy": "deployed",
        "tests/stacks/broken:deploy": "failed",
        "tests/stacks/consumer:deploy": "deployed",
    }
    assert "NoSuchBucket" in report(repo)["tests/stacks/broken:deploy"]["error"]
    assert "skipped: dependency failed" in failed.stdout  # the summary table

    # A re-run of the job (after the fix) deploys only what is not live yet.
    repo.write("tests/stacks/broken/template.json", json.dumps(QUEUE))
    repo.commit("fix the broken stack")
    repo.pants("deploy-stacks", "tests/stacks::")
    assert results(repo) == {
        "tests/stacks/after:deploy": "deployed",
        "tests/stacks/base:deploy": "up to date",
        "tests/stacks/broken:deploy": "deployed",
        "tests/stacks/consumer:deploy": "up to date",
    }


@pytest.mark.local_only("four accounts, reached through STS")
def test_one_app_to_many_accounts_and_regions_with_one_failing_account(repo):
    template = {
        "Resources": {
            "Table": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {
                    "TableName": "jiti-fanout",
                    "BillingMode": "PAY_PER_REQUEST",
                    "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                    "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                },
            }
        }
    }
    repo.write(
        "tests/fanout/BUILD",
        'cloudformation_stack(name="stack", source="template.json")\n'
        'cloudformation_deployment(name="deploy", stack=":stack", environment="prod",\n'
        '    account=parametrize("111111111111", "222222222222"),\n'
        '    region=parametrize("us-east-1", "eu-west-1"))\n',
    )
    repo.write("tests/fanout/template.json", json.dumps(template))
    # Account 222222222222 already has a table of that name in us-east-1: that copy must fail.
    creds = repo.aws("sts").assume_role(
        RoleArn="arn:aws:iam::222222222222:role/jiti-deploy", RoleSessionName="jiti-test"
    )["Credentials"]
    dynamodb = repo.aws(
        "dynamodb",
        AccessKeyId=creds["AccessKeyId"],
        SecretAccessKey=creds["SecretAccessKey"],
        SessionToken=creds["SessionToken"],
    )
    dynamodb.create_table(
        TableName="jiti-fanout",
        **{
            k: v
            for k, v in template["Resources"]["Table"]["Properties"].items()
            if k != "TableName"
        },
    )

    failed = repo.pants("deploy-stacks", "tests/fanout:", check=False)
    assert failed.returncode != 0
    rows = report(repo)
    assert {(r["account"], r["region"], r["result"]) for r in rows.values()} == {
        ("111111111111", "us-east-1", "deployed"),
        ("111111111111", "eu-west-1", "deployed"),
        ("222222222222", "eu-west-1", "deployed"),
        ("222222222222", "us-east-1", "failed"),
    }
    # Each copy is its own stack in its own account and region, with its own assets bucket.
    for row in rows.values():
        if row["result"] == "deployed":
            creds = repo.aws("sts").assume_role(
                RoleArn=f"arn:aws:iam::{row['account']}:role/jiti-deploy",
                RoleSessionName="jiti-test",
            )["Credentials"]
            cfn = repo.aws(
                "cloudformation",
                region=row["region"],
                AccessKeyId=creds["AccessKeyId"],
                SecretAccessKey=creds["SecretAccessKey"],
                SessionToken=creds["SessionToken"],
            )
            assert (
                cfn.describe_stacks(StackName="fanout-prod")["Stacks"][0]["StackStatus"]
                == "CREATE_COMPLETE"
            )

    dynamodb.delete_table(TableName="jiti-fanout")
    repo.pants("deploy-stacks", "tests/fanout:")
    again = repo.pants("deploy-stacks", "tests/fanout:").stdout
    assert again.count("fanout-prod: up to date") == 4


@pytest.mark.local_only("StackSet instances in two more accounts")
def test_stack_sets_mode_rolls_out_instances_and_skips_what_is_live(repo):
    repo.write(
        "tests/fleet/BUILD",
        'cloudformation_stack(name="stack", source="template.json")\n'
        'cloudformation_deployment(name="deploy", stack=":stack", environment="prod",\n'
        '    stack_set_accounts=["333333333333", "444444444444"],\n'
        '    stack_set_regions=["us-east-1", "eu-west-1"])\n',
    )
    repo.write("tests/fleet/template.json", json.dumps(QUEUE))
    repo.pants("deploy-stacks", "tests/fleet:")
    assert results(repo) == {"tests/fleet:deploy": "deployed"}
    cfn = repo.aws("cloudformation")
    instances = cfn.list_stack_instances(StackSetName="fleet-prod")["Summaries"]
    assert {(i["Account"], i["Region"], i["Status"]) for i in instances} == {
        (account, region, "CURRENT")
        for account in ("333333333333", "444444444444")
        for region in ("us-east-1", "eu-west-1")
    }
    described = cfn.describe_stack_set(StackSetName="fleet-prod")["StackSet"]
    tags = {t["Key"]: t["Value"] for t in described["Tags"]}
    recorded = json.loads(described["TemplateBody"])["Outputs"]
    assert tags["jiti:env"] == "prod" and len(recorded["JitiVersion"]["Value"]) == 64

    again = repo.pants("deploy-stacks", "tests/fleet:").stdout
    assert again.count("up to date (version") == 4
    assert results(repo) == {"tests/fleet:deploy": "up to date"}
