"""What the CloudFormation registry says of a resource type, for plans made without a change
set: which properties can only be set when the resource is created (a change to one replaces
the resource) and whether the type takes tags (the stack's tags reach it).

Read with DescribeType (a read-only call), once per type, account and region in a run. AWS
returns the schema as JSON text, its `createOnlyProperties` as JSON pointers such as
`/properties/TableName` (or `/properties/KeySchema/0/AttributeName` for a part of one).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

from botocore.exceptions import ClientError

NOT_FOUND = ("TypeNotFoundException", "CFNRegistryException")


@dataclass(frozen=True)
class TypeSchema:
    """One resource type's registry facts; `known` False: the registry has no such type (a
    custom resource), so nothing is sure about what a change replaces."""

    type_name: str
    create_only: tuple[tuple[str, ...], ...] = ()  # paths under `Properties`
    taggable: bool = False
    known: bool = True

    def create_only_paths(self, name: str) -> list[tuple[str, ...]]:
        """The create-only paths within the property `name` (() is the property itself)."""
        return [path[1:] for path in self.create_only if path[0] == name]


def _path(pointer: str) -> tuple[str, ...] | None:
    """`/properties/A/B` as ("A", "B"); None for a pointer outside `properties`."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    if len(parts) < 2 or parts[0] != "properties":
        return None
    return tuple(parts[1:])


def parse(type_name: str, schema) -> TypeSchema:
    """DescribeType's `Schema` (JSON text) as a TypeSchema."""
    data = json.loads(schema) if isinstance(schema, str) else dict(schema or {})
    paths = tuple(p for p in map(_path, data.get("createOnlyProperties") or []) if p)
    tagging = data.get("tagging")
    if isinstance(tagging, dict):
        taggable = bool(tagging.get("taggable", True))
    else:
        taggable = "Tags" in (data.get("properties") or {})
    return TypeSchema(type_name, paths, taggable)


class Schemas:
    """The registry schemas a run needs, each read once per account and region: the plans
    running in parallel that need a type wait for the one reading it."""

    def __init__(self):
        self._found: dict[tuple, TypeSchema] = {}
        self._reading: dict[tuple, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, destination, type_name: str) -> TypeSchema:
        key = (destination.account, destination.region, type_name)
        with self._lock:
            reading = self._reading.setdefault(key, threading.Lock())
        with reading:
            if key not in self._found:
                self._found[key] = _describe(destination.client("cloudformation"), type_name)
            return self._found[key]


def _describe(cfn, type_name: str) -> TypeSchema:
    if type_name.startswith("Custom::") or type_name == "AWS::CloudFormation::CustomResource":
        return TypeSchema(type_name, known=False)
    try:
        described = cfn.describe_type(Type="RESOURCE", TypeName=type_name)
    except ClientError as e:
        if e.response["Error"].get("Code") in NOT_FOUND:
            return TypeSchema(type_name, known=False)
        raise
    return parse(type_name, described.get("Schema") or "{}")
