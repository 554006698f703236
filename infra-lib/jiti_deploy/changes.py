"""Change sets: create, wait, show as a readable diff, check against the replace gate,
execute or discard."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field

from botocore.exceptions import ClientError, WaiterError

from jiti_deploy.errors import DeployError

NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
SYMBOLS = {"Add": "+", "Modify": "~", "Remove": "-", "Import": ">", "Dynamic": "?"}


@dataclass(frozen=True)
class PropertyChange:
    """One changed attribute of a resource (a ResourceChangeDetail), with its values when
    CloudFormation gives them (DescribeChangeSet's IncludePropertyValues)."""

    attribute: str  # Properties, Metadata, Tags, DeletionPolicy, ...
    name: str | None  # the property's name, for Properties
    requires_recreation: str  # Never, Conditionally or Always
    change_source: str | None = None  # DirectModification, ParameterReference, ...
    evaluation: str | None = None  # Static or Dynamic
    before: str | None = None
    after: str | None = None

    @property
    def label(self) -> str:
        return self.name or self.attribute


@dataclass(frozen=True)
class Change:
    action: str
    logical_id: str
    resource_type: str
    replacement: str
    details: tuple[PropertyChange, ...] = field(default=())

    @property
    def replaces(self) -> bool:
        """The resource may be replaced (a new one made, the old one deleted)."""
        return self.action == "Modify" and self.replacement in ("True", "Conditional")

    def line(self) -> str:
        replacement = (
            " (replacement)"
            if self.replacement == "True"
            else (" (may replace)" if self.replacement == "Conditional" else "")
        )
        return f"  {SYMBOLS.get(self.action, '*')} {self.action:<7} {self.logical_id:<32} {self.resource_type}{replacement}"

    def detail_lines(self) -> list[str]:
        lines = []
        for d in self.details:
            recreation = {
                "Always": ", requires replacement",
                "Conditionally": ", may require replacement",
            }
            values = (
                f": {d.before} -> {d.after}" if d.before is not None or d.after is not None else ""
            )
            lines.append(f"      {d.label}{values}{recreation.get(d.requires_recreation, '')}")
        return lines

    def to_dict(self) -> dict:
        """As the deploy report lists it."""
        return {**asdict(self), "details": [asdict(d) for d in self.details]}


@dataclass(frozen=True)
class ChangeSet:
    id: str
    stack_id: str
    kind: str
    changes: tuple[Change, ...]

    @property
    def empty(self) -> bool:
        return not self.changes


def create(
    cfn,
    *,
    stack_name: str,
    kind: str,
    template: dict,
    parameters: dict,
    tags: dict,
    capabilities,
    role_arn,
    options: dict | None = None,
) -> ChangeSet:
    """`options`: further CreateChangeSet arguments (rollback triggers, notification topics)."""
    name = f"jiti-{int(time.time() * 1000)}"
    kwargs = {
        "StackName": stack_name,
        "ChangeSetName": name,
        "ChangeSetType": kind,
        "Parameters": [
            {"ParameterKey": k, "ParameterValue": str(v)} for k, v in sorted(parameters.items())
        ],
        "Tags": [{"Key": k, "Value": str(v)} for k, v in sorted(tags.items())],
        "Capabilities": list(capabilities),
        **template,
        **(options or {}),
    }
    if role_arn:
        kwargs["RoleARN"] = role_arn
    try:
        created = cfn.create_change_set(**kwargs)
    except ClientError as e:
        message = e.response["Error"].get("Message", "")
        if any(marker in message for marker in NO_CHANGES):
            return ChangeSet(id="", stack_id="", kind=kind, changes=())
        raise DeployError(
            f"CloudFormation rejected the change set for {stack_name}: {message}"
        ) from None
    if not _created(cfn, created["Id"], stack_name):
        return ChangeSet(id="", stack_id=created["StackId"], kind=kind, changes=())
    return ChangeSet(
        id=created["Id"],
        stack_id=created["StackId"],
        kind=kind,
        changes=_changes(cfn, created["Id"]),
    )


def _created(cfn, change_set_id: str, stack_name: str) -> bool:
    """Wait for the change set; False when CloudFormation failed it for having no changes
    (then it is deleted, not left behind)."""
    try:
        cfn.get_waiter("change_set_create_complete").wait(
            ChangeSetName=change_set_id, WaiterConfig={"Delay": 1, "MaxAttempts": 600}
        )
        return True
    except WaiterError:
        described = cfn.describe_change_set(ChangeSetName=change_set_id)
        reason = described.get("StatusReason", "")
        if any(marker in reason for marker in NO_CHANGES):
            cfn.delete_change_set(ChangeSetName=change_set_id)
            return False
        raise DeployError(
            f"the change set for {stack_name} failed: {reason or described.get('Status')}"
        ) from None


def _value(value) -> str | None:
    """A property value as the report shows it: CloudFormation gives JSON text."""
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _detail(detail: dict) -> PropertyChange:
    target = detail.get("Target", {})
    return PropertyChange(
        attribute=target.get("Attribute", "?"),
        name=target.get("Name"),
        requires_recreation=target.get("RequiresRecreation", "Never"),
        change_source=detail.get("ChangeSource"),
        evaluation=detail.get("Evaluation"),
        before=_value(target.get("BeforeValue")),
        after=_value(target.get("AfterValue")),
    )


def _changes(cfn, change_set_id: str) -> tuple[Change, ...]:
    changes = []
    pages = cfn.get_paginator("describe_change_set").paginate(
        ChangeSetName=change_set_id, IncludePropertyValues=True
    )
    for page in pages:
        for change in page.get("Changes", []):
            rc = change.get("ResourceChange", {})
            changes.append(
                Change(
                    action=rc.get("Action", "?"),
                    logical_id=rc.get("LogicalResourceId", "?"),
                    resource_type=rc.get("ResourceType", "?"),
                    replacement=rc.get("Replacement", "False") or "False",
                    details=tuple(_detail(d) for d in rc.get("Details", []) or []),
                )
            )
    return tuple(changes)


def local_diff(old: dict, new: dict) -> tuple[Change, ...]:
    """Resource changes between two templates, for when CloudFormation cannot be asked (a dry
    run of a template too large to pass inline and not uploaded yet)."""
    before, after = old.get("Resources", {}), new.get("Resources", {})
    found = []
    for logical_id in sorted(set(before) | set(after)):
        if logical_id not in before:
            action, kind = "Add", after[logical_id]["Type"]
        elif logical_id not in after:
            action, kind = "Remove", before[logical_id]["Type"]
        elif before[logical_id] != after[logical_id]:
            action, kind = "Modify", after[logical_id]["Type"]
        else:
            continue
        found.append(Change(action, logical_id, kind, "False"))
    return tuple(found)


def show(change_set: ChangeSet, log=print) -> None:
    if change_set.empty:
        log("  (no resource changes)")
    for change in sorted(change_set.changes, key=lambda c: (c.action, c.logical_id)):
        log(change.line())
        for line in change.detail_lines():
            log(line)


def guarded(change_set: ChangeSet, resource_types: tuple[str, ...]) -> list[str]:
    """What the replace gate refuses: each replacement or deletion of a resource of one of
    `resource_types`, as `Logical (Type): why`."""
    found = []
    for c in sorted(change_set.changes, key=lambda c: c.logical_id):
        if c.resource_type not in resource_types:
            continue
        if c.action == "Remove":
            found.append(
                f"{c.logical_id} ({c.resource_type}): would be deleted (removed from the template)"
            )
        elif c.replaces:
            causes = [
                d.label for d in c.details if d.requires_recreation in ("Always", "Conditionally")
            ]
            because = f": {', '.join(causes)} changed" if causes else ""
            kind = "would be replaced" if c.replacement == "True" else "may be replaced"
            found.append(f"{c.logical_id} ({c.resource_type}): {kind}{because}")
    return found


def discard(cfn, change_set: ChangeSet, stack_name: str) -> None:
    """Delete an unexecuted change set, and the empty stack a CREATE change set leaves behind."""
    if change_set.id:
        cfn.delete_change_set(ChangeSetName=change_set.id)
    if change_set.kind == "CREATE":
        cfn.delete_stack(StackName=change_set.stack_id or stack_name)
