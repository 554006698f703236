"""The CloudFormation registry's DescribeType, which moto lacks (fix 23 of `fidelity`).

A plan made without a change set reads each resource type's schema with DescribeType (Type
RESOURCE): which properties are create-only (a change replaces the resource) and whether the
type takes tags. The schema answered here says what the local AWS's change sets already go
by: `change_sets.CREATE_ONLY` for the types jiti's building blocks make (else the schema
cfn-lint ships), and `tags.taggable`, so that a plan and a change set agree. As on AWS, the
schema is JSON text, its create-only properties JSON pointers (`/properties/TableName`), and
a type the registry does not know is `TypeNotFoundException`.
"""

from __future__ import annotations

import json

from moto.cloudformation import responses
from moto.cloudformation.exceptions import CloudFormationError

from jiti_deploy.local_aws import change_sets, tags

REGISTRY_REGION = "us-east-1"  # the schemas cfn-lint ships are read for this region


class TypeNotFound(CloudFormationError):
    code = "TypeNotFoundException"


def _shipped(type_name: str) -> dict | None:
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    try:
        return PROVIDER_SCHEMA_MANAGER.get_resource_schema(REGISTRY_REGION, type_name).schema
    except Exception:  # noqa: BLE001 - no schema: a custom or unknown type
        return None


def schema(type_name: str) -> dict | None:
    """The registry schema of `type_name`, as the local AWS knows it; None if unknown."""
    shipped = _shipped(type_name)
    if shipped is None and type_name not in change_sets.CREATE_ONLY:
        return None
    shipped = shipped or {}
    create_only = change_sets.CREATE_ONLY.get(type_name)
    pointers = (
        [f"/properties/{name}" for name in create_only]
        if create_only is not None
        else list(shipped.get("createOnlyProperties") or [])
    )
    return {
        "typeName": type_name,
        "description": shipped.get("description", type_name),
        "properties": {name: {} for name in shipped.get("properties") or {}},
        "createOnlyProperties": pointers,
        "tagging": {"taggable": tags.taggable(type_name)},
    }


def _describe_type(self):
    type_name = self._get_param("TypeName")
    if self._get_param("Type", "RESOURCE") != "RESOURCE" or not type_name:
        raise TypeNotFound(f"The type '{type_name}' cannot be found.")
    found = schema(type_name)
    if found is None:
        raise TypeNotFound(f"The type '{type_name}' cannot be found.")
    arn_type = type_name.replace("::", "-").lower()
    return responses.ActionResult(
        {
            "Arn": f"arn:aws:cloudformation:{self.region}::type/resource/{arn_type}",
            "Type": "RESOURCE",
            "TypeName": type_name,
            "Schema": json.dumps(found, sort_keys=True),
            "Visibility": "PUBLIC",
            "ProvisioningType": "FULLY_MUTABLE",
            "DeprecatedStatus": "LIVE",
            "IsDefaultVersion": True,
        }
    )


def apply() -> None:
    responses.CloudFormationResponse.describe_type = _describe_type
