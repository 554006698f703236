"""Fix 20 of `fidelity`: the local AWS writes stack events as CloudFormation does, and pages
them, each shown twice: with jiti's local AWS, and plain moto still lacking it.

Sources: the DescribeStackEvents API reference (events "in reverse chronological order", a
NextToken for the next page); 100 events a page, as accounts show (ansible/ansible#41840); one
event per resource state change, recorded against real accounts in localstack/localstack's
`tests/aws/services/cloudformation/api/test_stacks.snapshot.json`
`test_list_events_after_deployment` (REVIEW_IN_PROGRESS and CREATE_IN_PROGRESS "User
Initiated"; per resource CREATE_IN_PROGRESS, CREATE_IN_PROGRESS "Resource creation Initiated",
CREATE_COMPLETE; CREATE_COMPLETE), `test_change_set_fn_select.snapshot.json`
`test_fn_select_add_to_static_property` (an update: UPDATE_IN_PROGRESS "User Initiated", the
resource's UPDATE_IN_PROGRESS and UPDATE_COMPLETE, UPDATE_COMPLETE_CLEANUP_IN_PROGRESS,
UPDATE_COMPLETE) and `test_change_set_values.snapshot.json` `test_property_empy_list` (a
resource an update removes: DELETE_IN_PROGRESS, DELETE_COMPLETE after the cleanup starts).
"""

from __future__ import annotations

import pytest

from jiti_deploy.local_aws.fidelity_test import execute, local_cfn, unpatched

STACK_TYPE = "AWS::CloudFormation::Stack"
MADE = [
    ("CREATE_IN_PROGRESS", None),
    ("CREATE_IN_PROGRESS", "Resource creation Initiated"),
    ("CREATE_COMPLETE", None),
]


@pytest.fixture
def cfn(endpoint):
    return local_cfn(endpoint)


def queues(n: int, visibility: int = 30) -> dict:
    return {
        "Resources": {
            f"Queue{i}": {
                "Type": "AWS::SQS::Queue",
                "Properties": {"VisibilityTimeout": visibility},
            }
            for i in range(n)
        }
    }


def pages(cfn, stack: str) -> list[dict]:
    """Every page of the stack's events, read with NextToken as any client does."""
    found, token = [], None
    while True:
        page = cfn.describe_stack_events(StackName=stack, **({"NextToken": token} if token else {}))
        found.append(page)
        token = page.get("NextToken")
        if not token:
            return found


def oldest_first(cfn, stack: str) -> list[tuple[str, str, str | None]]:
    """(logical id, status, reason) of every event, oldest first."""
    newest_first = [e for page in pages(cfn, stack) for e in page["StackEvents"]]
    return [
        (e["LogicalResourceId"], e["ResourceStatus"], e.get("ResourceStatusReason"))
        for e in reversed(newest_first)
    ]


def of(found: list[tuple], logical_id: str) -> list[tuple]:
    return [(status, reason) for lid, status, reason in found if lid == logical_id]


def test_a_new_stack_of_60_queues_has_an_event_per_state_change_in_pages_of_100(cfn):
    stack_id = execute(cfn, "events-sixty", queues(60), "CREATE")["StackId"]
    read = pages(cfn, "events-sixty")
    assert [len(p["StackEvents"]) for p in read] == [100, 83]  # 2 + 60 x 3 + 1
    assert "NextToken" not in read[-1]
    found = oldest_first(cfn, "events-sixty")
    assert of(found, "events-sixty") == [
        ("REVIEW_IN_PROGRESS", "User Initiated"),
        ("CREATE_IN_PROGRESS", "User Initiated"),
        ("CREATE_COMPLETE", None),
    ]
    assert found[1] == ("events-sixty", "CREATE_IN_PROGRESS", "User Initiated")
    assert found[-1] == ("events-sixty", "CREATE_COMPLETE", None)
    for i in range(60):
        assert of(found, f"Queue{i}") == MADE
    newest = read[0]["StackEvents"][0]
    queue_event = next(e for e in read[1]["StackEvents"] if e["ResourceType"] != STACK_TYPE)
    assert newest["StackId"] == queue_event["StackId"] == stack_id
    assert queue_event["PhysicalResourceId"].startswith("https://")  # the queue's URL
    # boto3's paginator reads the same events, newest first.
    paginated = cfn.get_paginator("describe_stack_events").paginate(StackName=stack_id)
    assert [len(p["StackEvents"]) for p in paginated] == [100, 83]


def test_an_update_reports_what_it_adds_changes_and_removes(cfn):
    execute(cfn, "events-update", queues(3), "CREATE")
    template = queues(3)
    template["Resources"]["Queue0"]["Properties"]["VisibilityTimeout"] = 60
    del template["Resources"]["Queue2"]
    template["Resources"]["Queue3"] = {"Type": "AWS::SQS::Queue"}
    assert execute(cfn, "events-update", template, "UPDATE")["StackStatus"] == "UPDATE_COMPLETE"
    found = oldest_first(cfn, "events-update")
    update = found[found.index(("events-update", "UPDATE_IN_PROGRESS", "User Initiated")) :]
    assert [e[1] for e in update if e[0] == "events-update"] == [
        "UPDATE_IN_PROGRESS",
        "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
        "UPDATE_COMPLETE",
    ]
    assert of(update, "Queue3") == MADE
    assert of(update, "Queue0") == [("UPDATE_IN_PROGRESS", None), ("UPDATE_COMPLETE", None)]
    assert of(update, "Queue1") == []  # unchanged
    cleanup = update.index(("events-update", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", None))
    assert update[cleanup + 1 : cleanup + 3] == [
        ("Queue2", "DELETE_IN_PROGRESS", None),
        ("Queue2", "DELETE_COMPLETE", None),
    ]


def test_deleting_a_stack_reports_each_resource_deletion_start_and_end(cfn):
    stack_id = execute(cfn, "events-delete", queues(2), "CREATE")["StackId"]
    cfn.delete_stack(StackName=stack_id)
    found = oldest_first(cfn, stack_id)
    deletion = found[found.index(("events-delete", "DELETE_IN_PROGRESS", "User Initiated")) :]
    assert (
        of(deletion, "Queue0")
        == of(deletion, "Queue1")
        == [
            ("DELETE_IN_PROGRESS", None),
            ("DELETE_COMPLETE", None),
        ]
    )
    assert deletion[-1] == ("events-delete", "DELETE_COMPLETE", None)


def test_a_token_from_another_stack_is_refused(cfn):
    execute(cfn, "events-token-a", queues(40), "CREATE")
    execute(cfn, "events-token-b", queues(1), "CREATE")
    token = pages(cfn, "events-token-a")[0]["NextToken"]
    with pytest.raises(cfn.exceptions.ClientError, match="NextToken"):
        cfn.describe_stack_events(StackName="events-token-b", NextToken=token)


def test_moto_still_writes_stack_events_only_and_never_pages():
    """Gap 16: a new stack of 60 queues gets 3 events in all, on one page."""
    result = unpatched(
        """
        execute("s", templates["sixty"], "CREATE")
        page = cfn.describe_stack_events(StackName="s")
        result["statuses"] = [e["ResourceStatus"] for e in page["StackEvents"]]
        result["types"] = sorted({e["ResourceType"] for e in page["StackEvents"]})
        result["token"] = page.get("NextToken")
        """,
        sixty=queues(60),
    )
    assert result == {
        "statuses": ["CREATE_COMPLETE", "CREATE_IN_PROGRESS", "REVIEW_IN_PROGRESS"],
        "types": [STACK_TYPE],
        "token": None,
    }
