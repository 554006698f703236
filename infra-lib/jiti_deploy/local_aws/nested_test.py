"""Fix 21 of `fidelity`: a nested stack says whose it is and carries its parent's tags, as on
CloudFormation; and plain moto still makes it a top-level stack without tags.

Sources: the DescribeStacks API reference, `Stack` data type: `ParentId` ("for nested stacks,
the stack ID of the direct parent of this stack"), `RootId` ("the stack ID of the top-level
stack to which the nested stack ultimately belongs"); the CloudFormation User Guide on stack
tags: stack-level tags propagate to every resource of the stack that takes tags, nested stacks
(`AWS::CloudFormation::Stack`) included.
"""

from __future__ import annotations

import json

import boto3
import pytest

from jiti_deploy import local_aws
from jiti_deploy.local_aws.fidelity_test import REGION, execute, local_cfn, unpatched

BUCKET = "nested-templates"
QUEUE = {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}


def nesting(key: str) -> dict:
    """A template whose one resource is the stack of the template at `key`."""
    url = f"https://{BUCKET}.s3.amazonaws.com/{key}"
    return {
        "Resources": {
            "Child": {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": url}}
        }
    }


@pytest.fixture
def cfn(endpoint):
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=endpoint, **local_aws.CREDENTIALS)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="queue.json", Body=json.dumps(QUEUE))
    s3.put_object(Bucket=BUCKET, Key="middle.json", Body=json.dumps(nesting("queue.json")))
    return local_cfn(endpoint)


def test_a_nested_stack_names_its_parent_and_root_and_carries_the_parent_s_tags(cfn):
    tags = {"jiti:repository": "nested", "jiti:deployment": "apps/top:deploy"}
    top = execute(cfn, "nested-top", nesting("middle.json"), "CREATE", tags=tags)
    assert top["StackStatus"] == "CREATE_COMPLETE" and "ParentId" not in top
    pages = cfn.get_paginator("describe_stacks").paginate()  # 50 stacks a page
    stacks = {s["StackName"]: s for page in pages for s in page["Stacks"]}
    middle = next(s for n, s in stacks.items() if n.startswith("nested-top-Child-"))
    bottom = next(s for n, s in stacks.items() if n.startswith(f"{middle['StackName']}-Child-"))
    assert (middle["ParentId"], middle["RootId"]) == (top["StackId"], top["StackId"])
    assert (bottom["ParentId"], bottom["RootId"]) == (middle["StackId"], top["StackId"])
    for nested in (middle, bottom):
        assert {t["Key"]: t["Value"] for t in nested["Tags"]} == tags


def test_moto_still_makes_a_nested_stack_a_top_level_stack_without_tags():
    """Gap 17: no ParentId, no RootId, none of the parent's tags."""
    result = unpatched(
        """
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="nested-templates")
        s3.put_object(Bucket="nested-templates", Key="queue.json", Body=templates["queue"])
        execute("s", templates["top"], "CREATE", tags={"jiti:repository": "nested"})
        child = [d for d in cfn.describe_stacks()["Stacks"] if d["StackName"] != "s"][0]
        result["child"] = [child.get("ParentId"), child.get("RootId"), child.get("Tags")]
        """,
        queue=json.dumps(QUEUE),
        top=nesting("queue.json"),
    )
    assert result == {"child": [None, None, []]}
