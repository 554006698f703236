"""Many deployments in one run: one read of what is live per account and region, dependencies
first, and output that stays readable at any size."""

from __future__ import annotations

import pytest
from jiti_aws_proxy import AwsProxy

from jiti_deploy import batch, local_aws
from jiti_deploy.destinations import Destinations
from jiti_deploy.report import Result, summary

QUEUE = {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}


@pytest.fixture
def proxy(endpoint, monkeypatch):
    """The local AWS behind a counting proxy, reached as an AWS endpoint."""
    with AwsProxy(endpoint) as proxy:
        for name, value in {
            "AWS_ENDPOINT_URL": proxy.endpoint,
            "AWS_ACCESS_KEY_ID": local_aws.CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": local_aws.CREDENTIALS["aws_secret_access_key"],
            "AWS_DEFAULT_REGION": "sa-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }.items():
            monkeypatch.setenv(name, value)
        yield proxy


def test_many_unchanged_deployments_cost_one_read_per_region_and_a_progress_line(
    proxy, make, tmp_path
):
    deployments = [
        make(f"many{i:02d}", QUEUE, region=("sa-east-1", "af-south-1")[i % 2]) for i in range(60)
    ]
    first = batch.run(
        Destinations("aws", tmp_path),
        deployments,
        dry_run=False,
        max_parallel=4,
        log=lambda _: None,
    )
    assert {o.result for o in first} == {Result.DEPLOYED}
    proxy.take()

    lines: list[str] = []
    again = batch.run(
        Destinations("aws", tmp_path), deployments, dry_run=False, max_parallel=4, log=lines.append
    )
    assert {o.result for o in again} == {Result.UP_TO_DATE}
    calls = proxy.take()
    assert calls["cloudformation:DescribeStacks"] == 2  # one paginated read per region
    assert sum(calls.values()) == 4  # and the account, once per region
    assert not any("up to date (version" in line for line in lines)  # no line per stack
    assert lines[-1] == "[progress] 60/60 done: 60 up to date"
    assert summary(again).splitlines()[-1] == "... and 60 more up to date"


def test_dependencies_go_first_and_a_failure_skips_its_dependents(proxy, make, tmp_path):
    broken = {  # Lambda refuses code from a bucket that does not exist
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
    deployments = [
        make("order-c", QUEUE, depends_on=("apps/order-b:deploy",)),
        make("order-b", QUEUE, depends_on=("apps/order-a:deploy",)),
        make("order-a", QUEUE),
        make("order-bad", broken),
        make("order-after-bad", QUEUE, depends_on=("apps/order-bad:deploy",)),
    ]
    order: list[str] = []
    outcomes = batch.run(
        Destinations("aws", tmp_path),
        deployments,
        dry_run=False,
        max_parallel=1,
        log=lambda line: order.append(line.split("]")[0][1:])
        if "deployed version" in line
        else None,
    )
    results = {o.deployment: o.result for o in outcomes}
    assert order.index("order-a-dev") < order.index("order-b-dev") < order.index("order-c-dev")
    assert results["apps/order-bad:deploy"] is Result.FAILED
    assert results["apps/order-after-bad:deploy"] is Result.SKIPPED
