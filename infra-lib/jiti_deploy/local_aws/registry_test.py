"""Fix 23 of `fidelity`: DescribeType answers with a registry schema saying what the local
AWS's change sets go by, as AWS's DescribeType answers (its API reference: `Schema` is JSON
text; localstack's `api/test_extensions_api.snapshot.json` `TestExtensionsApi::test_crud_extension`
shows `createOnlyProperties` as JSON pointers, `::test_extension_not_complete` the
`TypeNotFoundException` of a type the registry lacks)."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from jiti_deploy.local_aws.change_sets import CREATE_ONLY
from jiti_deploy.local_aws.fidelity_test import local_cfn, unpatched


def schema_of(cfn, type_name: str) -> dict:
    described = cfn.describe_type(Type="RESOURCE", TypeName=type_name)
    assert (described["Type"], described["TypeName"]) == ("RESOURCE", type_name)
    assert isinstance(described["Schema"], str)
    return json.loads(described["Schema"])


def test_describe_type_gives_the_create_only_properties_change_sets_go_by(endpoint):
    cfn = local_cfn(endpoint)
    table = schema_of(cfn, "AWS::DynamoDB::Table")
    assert table["createOnlyProperties"] == [
        f"/properties/{name}" for name in CREATE_ONLY["AWS::DynamoDB::Table"]
    ]
    assert table["tagging"] == {"taggable": True}
    assert schema_of(cfn, "AWS::SQS::QueuePolicy")["tagging"] == {"taggable": False}


def test_a_type_the_registry_lacks_is_not_found(endpoint):
    with pytest.raises(ClientError) as raised:
        local_cfn(endpoint).describe_type(Type="RESOURCE", TypeName="Acme::Shop::Widget")
    assert raised.value.response["Error"]["Code"] == "TypeNotFoundException"


def test_moto_still_lacks_describe_type():
    """Gap 23: moto answers no DescribeType."""
    result = unpatched(
        """
        try:
            cfn.describe_type(Type="RESOURCE", TypeName="AWS::SQS::Queue")
            result["error"] = None
        except Exception as e:
            result["error"] = str(e)
        """
    )
    assert "describe_type action has not been implemented" in result["error"]
