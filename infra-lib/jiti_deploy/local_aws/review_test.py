"""Fix 16 (`review.py`): change sets and their stacks as CloudFormation keeps them, and that
plain moto still lacks it. Sources: the CloudFormation API reference (ExecuteChangeSet: "When
you execute a change set, CloudFormation deletes all other change sets associated with the
stack"; ListChangeSets: "Returns the ID and status of each active change set for a stack";
ChangeSetSummary.ExecutionStatus: "OBSOLETE state because the stack was already updated"), and
localstack's recordings against AWS, `tests/aws/services/cloudformation/api/
test_changesets.snapshot.json`: `test_name_conflicts` (`new_stack_desc`: a stack made by a
CREATE change set is `REVIEW_IN_PROGRESS` with `"Tags": []`), `test_create_while_in_review`
(the change set made before the stack moved is `OBSOLETE`), `test_empty_changeset`
(`InvalidChangeSetStatus ... cannot be executed in its current status of [FAILED]`),
`test_deleted_changeset` (`ChangeSetNotFound`). DeleteChangeSet by name on a stack that exists
succeeds even when the stack has no such change set: the AWS CDK CLI relies on it before each
change set it makes (`cleanupOldChangeset` in aws-cdk's `api/deployments/cfn-api.ts`: "The
delete request is successful as long as the stack exists (even if the change set does not
exist)"), and the API reference lists no not-found error for DeleteChangeSet."""

from __future__ import annotations

import json

import pytest

from jiti_deploy.local_aws.fidelity_test import BROKEN_FN, QUEUE, local_cfn, unpatched

TAGS = [{"Key": "jiti:deployment", "Value": "apps/review:deploy"}]
TWO_QUEUES = {"Resources": {**QUEUE, "Q2": {"Type": "AWS::SQS::Queue"}}}


@pytest.fixture
def cfn(endpoint):
    return local_cfn(endpoint)


def change_set(cfn, stack: str, name: str, kind: str, template: dict) -> str:
    created = cfn.create_change_set(
        StackName=stack,
        ChangeSetName=name,
        ChangeSetType=kind,
        TemplateBody=json.dumps(template),
        Tags=TAGS,
    )
    return created["Id"]


def listed(cfn, stack: str) -> list[tuple[str, str]]:
    return [
        (s["ChangeSetName"], s["ExecutionStatus"])
        for s in cfn.list_change_sets(StackName=stack)["Summaries"]
    ]


def test_a_stack_in_review_has_no_tags_and_lists_only_its_own_change_sets(cfn):
    first = change_set(cfn, "review-a", "a1", "CREATE", {"Resources": QUEUE})
    change_set(cfn, "review-b", "b1", "CREATE", {"Resources": QUEUE})
    stack = cfn.describe_stacks(StackName="review-a")["Stacks"][0]
    assert (stack["StackStatus"], stack.get("Tags", [])) == ("REVIEW_IN_PROGRESS", [])
    assert cfn.describe_change_set(ChangeSetName=first)["Tags"] == TAGS
    assert listed(cfn, "review-a") == [("a1", "AVAILABLE")]
    assert listed(cfn, stack["StackId"]) == [("a1", "AVAILABLE")]
    cfn.execute_change_set(ChangeSetName=first)
    assert cfn.describe_stacks(StackName="review-a")["Stacks"][0]["Tags"] == TAGS
    broken = change_set(cfn, "review-c", "c1", "CREATE", {"Resources": BROKEN_FN})
    cfn.execute_change_set(ChangeSetName=broken)
    failed = cfn.describe_stacks(StackName="review-c")["Stacks"][0]
    assert (failed["StackStatus"], failed["Tags"]) == ("ROLLBACK_COMPLETE", TAGS)


def test_executing_a_change_set_deletes_the_others_and_an_update_makes_them_obsolete(cfn):
    cfn.execute_change_set(ChangeSetName=change_set(cfn, "moving", "c0", "CREATE", TWO_QUEUES))
    one = {"Resources": QUEUE}
    first = change_set(cfn, "moving", "c1", "UPDATE", one)
    change_set(cfn, "moving", "c2", "UPDATE", {"Resources": {"Q3": {"Type": "AWS::SQS::Queue"}}})
    cfn.execute_change_set(ChangeSetName="c2", StackName="moving")
    assert listed(cfn, "moving") == [("c2", "EXECUTE_COMPLETE")]
    with pytest.raises(cfn.exceptions.ChangeSetNotFoundException):
        cfn.execute_change_set(ChangeSetName=first)
    with pytest.raises(cfn.exceptions.ChangeSetNotFoundException):
        cfn.delete_change_set(ChangeSetName=first)

    stale = change_set(cfn, "moving", "c3", "UPDATE", one)
    cfn.update_stack(StackName="moving", TemplateBody=json.dumps(TWO_QUEUES))
    assert cfn.describe_change_set(ChangeSetName=stale)["ExecutionStatus"] == "OBSOLETE"
    with pytest.raises(
        cfn.exceptions.InvalidChangeSetStatusException, match=r"current status of \[OBSOLETE\]"
    ):
        cfn.execute_change_set(ChangeSetName=stale)
    assert cfn.describe_stacks(StackName="moving")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"


def test_moto_still_tags_a_stack_in_review_and_keeps_every_change_set():
    """Gap 16: the stack in review carries the change set's tags (and the change set shows
    none), ListChangeSets lists another
    stack's change sets, executing one keeps the others, and a change set made before an
    update is executed all the same."""
    result = unpatched(
        """
        def make(stack, name, kind, template):
            return cfn.create_change_set(StackName=stack, ChangeSetName=name, ChangeSetType=kind,
                TemplateBody=json.dumps(template),
                Tags=[{"Key": "jiti:deployment", "Value": "x"}])["Id"]
        make("a", "a1", "CREATE", templates["one"])
        make("b", "b1", "CREATE", templates["one"])
        result["tags"] = stack("a")["Tags"]
        result["change_set_tags"] = cfn.describe_change_set(ChangeSetName="a1")["Tags"]
        result["listed"] = [s["ChangeSetName"] for s in
                            cfn.list_change_sets(StackName="a")["Summaries"]]
        cfn.execute_change_set(ChangeSetName="b1")
        first = make("b", "b2", "UPDATE", templates["two"])
        make("b", "b3", "UPDATE", templates["three"])
        cfn.execute_change_set(ChangeSetName="b3")
        result["kept"] = cfn.describe_change_set(ChangeSetName=first)["ExecutionStatus"]
        cfn.update_stack(StackName="b", TemplateBody=json.dumps(templates["one"]))
        result["error"] = None
        try:
            cfn.execute_change_set(ChangeSetName=first)
        except Exception as e:
            result["error"] = str(e)
        """,
        one={"Resources": QUEUE},
        two=TWO_QUEUES,
        three={"Resources": {"Q3": {"Type": "AWS::SQS::Queue"}}},
    )
    assert result == {
        "tags": [{"Key": "jiti:deployment", "Value": "x"}],
        "change_set_tags": [],
        "listed": ["a1", "b1"],
        "kept": "AVAILABLE",
        "error": None,
    }


def test_an_updated_stack_has_the_time_of_its_last_update(cfn):
    """Fix 24. Source: the API reference, Stack `LastUpdatedTime`: "The time the stack was last
    updated. This field will only be returned if the stack has been updated at least once."
    Every update moves it, by change set or by UpdateStack."""
    cfn.execute_change_set(
        ChangeSetName=change_set(cfn, "dated", "d1", "CREATE", {"Resources": QUEUE})
    )
    assert "LastUpdatedTime" not in cfn.describe_stacks(StackName="dated")["Stacks"][0]
    cfn.execute_change_set(ChangeSetName=change_set(cfn, "dated", "d2", "UPDATE", TWO_QUEUES))
    first = cfn.describe_stacks(StackName="dated")["Stacks"][0]["LastUpdatedTime"]
    assert first >= cfn.describe_stacks(StackName="dated")["Stacks"][0]["CreationTime"]
    cfn.update_stack(StackName="dated", TemplateBody=json.dumps({"Resources": QUEUE}))
    assert cfn.describe_stacks(StackName="dated")["Stacks"][0]["LastUpdatedTime"] > first


def test_moto_still_gives_no_last_updated_time():
    """Gap 24: an updated stack has no `LastUpdatedTime`."""
    result = unpatched(
        """
        cfn.create_stack(StackName="u", TemplateBody=json.dumps(templates["one"]))
        cfn.update_stack(StackName="u", TemplateBody=json.dumps(templates["two"]))
        result["has_it"] = "LastUpdatedTime" in stack("u")
        """,
        one={"Resources": QUEUE},
        two=TWO_QUEUES,
    )
    assert result == {"has_it": False}


def test_deleting_a_name_the_stack_has_no_change_set_of_succeeds(cfn):
    cfn.execute_change_set(ChangeSetName=change_set(cfn, "named", "c0", "CREATE", TWO_QUEUES))
    cfn.delete_change_set(StackName="named", ChangeSetName="cdk-diff-change-set-1")
    change_set(cfn, "named", "c1", "UPDATE", {"Resources": QUEUE})
    change_set(cfn, "review-other", "c2", "CREATE", {"Resources": QUEUE})
    cfn.delete_change_set(StackName="named", ChangeSetName="c2")  # another stack's: kept
    assert listed(cfn, "review-other") == [("c2", "AVAILABLE")]
    cfn.delete_change_set(StackName="named", ChangeSetName="c1")
    assert listed(cfn, "named") == [("c0", "EXECUTE_COMPLETE")]


def test_moto_still_fails_to_delete_a_name_the_stack_has_no_change_set_of():
    """Gap 16: DeleteChangeSet of a name the stack has no change set of is a server error."""
    result = unpatched(
        """
        execute("s", templates["one"], "CREATE")
        try:
            cfn.delete_change_set(StackName="s", ChangeSetName="cdk-diff-change-set-1")
            result["error"] = None
        except Exception as e:
            result["error"] = type(e).__name__
        """,
        one={"Resources": QUEUE},
    )
    assert result["error"] is not None
