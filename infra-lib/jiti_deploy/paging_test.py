"""Reads that page: a Stubber answers as CloudFormation does when the answer is on page 2.

DescribeStackEvents (API reference) returns "all stack related events for a specified stack in
reverse chronological order", a page at a time with a NextToken for the rest; 100 events a page
is what accounts show (ansible/ansible#41840). The recorded snapshot
`tests/aws/services/cloudformation/api/test_stacks.snapshot.json`
`test_list_events_after_deployment` (localstack/localstack) shows one resource's events:
CREATE_IN_PROGRESS, CREATE_IN_PROGRESS "Resource creation Initiated", CREATE_COMPLETE.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.stub import Stubber

from jiti_deploy import events

STACK = "demo-dev"
STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/demo-dev/8c3e6f90-07a1-11ef"
T0 = datetime(2024, 5, 1, 10, 0, 0, tzinfo=timezone.utc)


def queue_events(first: int, queues: int) -> list[dict]:
    """Each queue's three create events, oldest first, numbered from `first`."""
    found = []
    for i in range(first, first + queues):
        for status, reason in (
            ("CREATE_IN_PROGRESS", None),
            ("CREATE_IN_PROGRESS", "Resource creation Initiated"),
            ("CREATE_COMPLETE", None),
        ):
            e = {
                "StackId": STACK_ID,
                "StackName": STACK,
                "EventId": f"Queue{i}-{status}-{len(found)}",
                "LogicalResourceId": f"Queue{i}",
                "PhysicalResourceId": f"https://sqs.us-east-1.amazonaws.com/1/q{i}",
                "ResourceType": "AWS::SQS::Queue",
                "Timestamp": T0 + timedelta(seconds=len(found)),
                "ResourceStatus": status,
            }
            found.append({**e, "ResourceStatusReason": reason} if reason else e)
    return found


@pytest.fixture
def cfn():
    client = boto3.client(
        "cloudformation",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def test_following_reads_every_new_page_and_stops_at_the_last_event_seen(cfn):
    """40 queues updated since the last event seen, then the stack's own UPDATE_COMPLETE: 121
    new events, 100 on page 1, 21 on page 2 before the one seen. All are shown, oldest first;
    the page after is never asked for, and the stack's own event ends the following."""
    client, stub = cfn
    seen = queue_events(0, 1)[-1]
    ended = {
        "StackId": STACK_ID,
        "StackName": STACK,
        "EventId": "stack-UPDATE_COMPLETE",
        "LogicalResourceId": STACK,
        "PhysicalResourceId": STACK_ID,
        "ResourceType": "AWS::CloudFormation::Stack",
        "Timestamp": T0 + timedelta(minutes=5),
        "ResourceStatus": "UPDATE_COMPLETE",
    }
    new = [*queue_events(1, 40), ended]
    newest_first = list(reversed(new))
    stack = {
        "StackId": STACK_ID,
        "StackName": STACK,
        "CreationTime": T0,
        "StackStatus": "UPDATE_COMPLETE",
    }
    stub.add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": STACK_ID})
    page_1 = {"StackEvents": newest_first[:100], "NextToken": "2"}
    stub.add_response("describe_stack_events", page_1, {"StackName": STACK_ID})
    page_2 = {"StackEvents": [*newest_first[100:], seen], "NextToken": "3"}
    stub.add_response("describe_stack_events", page_2, {"StackName": STACK_ID, "NextToken": "2"})
    shown: list[str] = []
    _, followed = events.follow(client, STACK_ID, {seen["EventId"]}, poll_s=0, log=shown.append)
    assert [e["EventId"] for e in followed] == [e["EventId"] for e in new]
    assert len(shown) == 121 and "Queue1" in shown[0] and "UPDATE_COMPLETE" in shown[-1]
