"""What a Destination shares between the stacks of one run."""

from __future__ import annotations

import boto3

from jiti_deploy.destinations import Destination


def target() -> Destination:
    session = boto3.Session(
        region_name="eu-west-1", aws_access_key_id="k", aws_secret_access_key="s"
    )
    return Destination(session, "http://127.0.0.1:9", local=True)


def test_one_client_per_service():
    aws = target()
    assert aws.client("cloudformation") is aws.client("cloudformation")
    assert aws.client("s3") is not aws.client("cloudformation")
    assert aws.client("s3").meta.region_name == "eu-west-1"


def test_once_runs_each_action_once_per_target():
    aws, other, calls = target(), target(), []
    for t in (aws, aws, other):
        t.once("bucket b", lambda: calls.append("b"))
    aws.once("bucket c", lambda: calls.append("c"))
    assert calls == ["b", "b", "c"]


def test_a_failed_action_is_tried_again():
    aws, calls = target(), []

    def fail_first():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("throttled")

    for _ in range(3):
        try:
            aws.once("bucket b", fail_first)
        except RuntimeError:
            pass
    assert len(calls) == 2
