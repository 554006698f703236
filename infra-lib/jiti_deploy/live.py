"""What is deployed now, from one DescribeStacks call, and whether it may be touched."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from botocore.exceptions import ClientError

from jiti_contract import (
    APP_TAG,
    COMMIT_OUTPUT,
    COMMIT_TIME_OUTPUT,
    CONFIG_OUTPUT,
    DEPLOYMENT_TAG,
    ENV_TAG,
    PREVIEW_TAG,
    VERSION_OUTPUT,
    StackPlace,
    deployment_tag,
)
from jiti_deploy import record
from jiti_deploy.errors import DeployError

STABLE = {
    "CREATE_COMPLETE",
    "UPDATE_COMPLETE",
    "UPDATE_ROLLBACK_COMPLETE",
    "IMPORT_COMPLETE",
    "IMPORT_ROLLBACK_COMPLETE",
}

# A stack whose first create did not finish, or that is being deleted.
NOT_DEPLOYED = {
    "CREATE_IN_PROGRESS",
    "CREATE_FAILED",
    "ROLLBACK_IN_PROGRESS",
    "ROLLBACK_FAILED",
    "ROLLBACK_COMPLETE",
    "REVIEW_IN_PROGRESS",
    "DELETE_IN_PROGRESS",
    "DELETE_FAILED",
    "DELETE_COMPLETE",
}


@dataclass(frozen=True)
class LiveStack:
    name: str
    status: str
    tags: dict
    outputs: dict  # the app's own outputs
    reason: str | None = None
    termination_protection: bool = False
    stack_id: str | None = None
    nested: bool = False  # a nested stack: its parent's resource, with its parent's tags
    record: dict = field(default_factory=dict)  # jiti's record outputs (see record.py)
    parameters: dict = field(default_factory=dict)  # as DescribeStacks shows them (NoEcho: ****)
    last_updated: str | None = None  # ISO 8601: LastUpdatedTime, else CreationTime

    @classmethod
    def from_description(cls, stack: dict) -> "LiveStack":
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", []) or []}
        own, recorded = record.split(outputs)
        return cls(
            name=stack["StackName"],
            status=stack["StackStatus"],
            tags={t["Key"]: t["Value"] for t in stack.get("Tags", [])},
            outputs=own,
            reason=stack.get("StackStatusReason"),
            termination_protection=bool(stack.get("EnableTerminationProtection")),
            stack_id=stack.get("StackId"),
            nested=bool(stack.get("ParentId") or stack.get("RootId")),
            record=recorded,
            parameters={
                p["ParameterKey"]: p.get("ParameterValue", "")
                for p in stack.get("Parameters", []) or []
            },
            last_updated=_iso(stack.get("LastUpdatedTime") or stack.get("CreationTime")),
        )

    @property
    def version(self) -> str | None:
        """The version deployed (None: not deployed by this jiti, or not yet)."""
        return self.record.get(VERSION_OUTPUT)

    @property
    def deployed(self) -> bool:
        """A create finished: the stack holds its resources and outputs (it may be changing)."""
        return self.status not in NOT_DEPLOYED

    @property
    def busy(self) -> bool:
        """An operation is running on the stack (REVIEW_IN_PROGRESS is a stack no operation
        created yet: a CREATE change set never executed)."""
        return self.status.endswith("_IN_PROGRESS") and self.status != "REVIEW_IN_PROGRESS"

    @property
    def commit_time(self) -> int | None:
        try:
            return int(self.record[COMMIT_TIME_OUTPUT])
        except (KeyError, ValueError):
            return None

    def is_current(self, version: str, config: str) -> bool:
        """Deployed from this exact version and settings, and settled."""
        return (
            self.status in STABLE
            and self.status != "UPDATE_ROLLBACK_COMPLETE"
            and self.record.get(VERSION_OUTPUT) == version
            and self.record.get(CONFIG_OUTPUT) == config
        )


def _iso(when) -> str | None:
    """A time as ISO 8601 (botocore gives datetimes; a Stubber may give text)."""
    if when is None:
        return None
    return when.isoformat() if hasattr(when, "isoformat") else str(when)


def describe(cfn, stack_name: str) -> LiveStack | None:
    try:
        stacks = cfn.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as e:
        if "does not exist" in e.response["Error"].get("Message", ""):
            return None
        raise
    return LiveStack.from_description(stacks[0]) if stacks else None


def describe_all(cfn, stack_names: set[str]) -> dict[str, LiveStack]:
    """The live stacks among `stack_names`, read with as few calls as the account allows:
    one paginated DescribeStacks for the region, or one call per stack when the whole-region
    listing is refused (some CloudFormation implementations fail it for a broken stack)."""
    try:
        found = {}
        for page in cfn.get_paginator("describe_stacks").paginate():
            for stack in page["Stacks"]:
                if stack["StackName"] in stack_names and stack["StackStatus"] != "DELETE_COMPLETE":
                    found[stack["StackName"]] = LiveStack.from_description(stack)
        return found
    except ClientError:
        return {name: s for name in sorted(stack_names) if (s := describe(cfn, name))}


NOT_LOOKED_UP = object()  # a stack whose state is not known yet (its read failed or is to come)


class LiveStacks:
    """The stacks of a run and of the deployments they read or protect (producers of their
    inputs, consumers of their outputs), each read once: together with the others in its
    account and region when the run reads them in a batch, on its own otherwise, always with
    the credentials of the deployment that owns it."""

    def __init__(self, destinations):
        self._destinations = destinations
        self._found: dict[tuple, LiveStack | None] = {}
        self._lock = threading.RLock()

    @staticmethod
    def _key(place: StackPlace) -> tuple:
        return (place.account, place.region, place.stack_name)

    def _cfn(self, place: StackPlace):
        return self._destinations.get(place.account, place.region, place.role_to_assume).client(
            "cloudformation"
        )

    def read(self, places) -> None:
        """One listing per account and region for all `places` there. Where it fails, nothing
        is recorded: each stack there is then read on its own, and reports its own error."""
        groups: dict[tuple, list[StackPlace]] = {}
        for place in places:
            groups.setdefault((place.account, place.region), []).append(place)
        for _, group in sorted(groups.items(), key=lambda item: str(item[0])):
            try:
                found = describe_all(self._cfn(group[0]), {p.stack_name for p in group})
            except Exception:  # noqa: BLE001 - each stack there reads and reports for itself
                continue
            with self._lock:
                self._found.update({self._key(p): found.get(p.stack_name) for p in group})

    def known(self, place: StackPlace):
        """The stack as read so far, or NOT_LOOKED_UP."""
        with self._lock:
            return self._found.get(self._key(place), NOT_LOOKED_UP)

    def get(self, place: StackPlace) -> LiveStack | None:
        """The stack, read now if it was not read yet."""
        with self._lock:
            if self._key(place) not in self._found:
                self._found[self._key(place)] = describe(self._cfn(place), place.stack_name)
            return self._found[self._key(place)]

    def forget(self, place: StackPlace) -> None:
        """The stack changed (this run deployed it): read it again when it is next asked for."""
        with self._lock:
            self._found.pop(self._key(place), None)


def check_deployable(live: LiveStack) -> None:
    """Refuse states that must not be overwritten blindly, saying what to do instead."""
    name, status = live.name, live.status
    if status == "UPDATE_ROLLBACK_FAILED":
        raise DeployError(
            f"{name} is in UPDATE_ROLLBACK_FAILED: fix the resources named in its events, then run "
            f"`aws cloudformation continue-update-rollback --stack-name {name}` and deploy again"
        )
    if live.busy:
        raise DeployError(f"{name} is busy ({status}); wait for it to finish, then deploy again")
    if status in ("DELETE_FAILED", "ROLLBACK_FAILED"):
        raise DeployError(
            f"{name} is in {status}: remove what blocks deletion (see its events), then run "
            f"`aws cloudformation delete-stack --stack-name {name}` and deploy again"
        )


def check_owner(
    live: LiveStack, address: str, app: str, environment: str, preview: str | None = None
) -> None:
    """jiti updates and deletes only the stacks its deployment owns (its `jiti:deployment`
    tag; stacks deployed before that tag existed are known by their app and environment). A
    preview's copy carries its deployment's tag too: the `jiti:preview` tag must match as well,
    so a preview never takes over another environment's stack, nor a deploy a preview's."""
    check_preview(live, address, preview)
    owner = live.tags.get(DEPLOYMENT_TAG)
    if owner == deployment_tag(address):
        return
    if owner:
        raise DeployError(
            f"{live.name} is deployed by {owner}, not {address}: two deployments cannot share a "
            "stack; give one of them another `stack_name`, `account` or `region`"
        )
    if (live.tags.get(APP_TAG), live.tags.get(ENV_TAG)) == (app, environment):
        return
    if APP_TAG in live.tags:
        raise DeployError(
            f"{live.name} belongs to the app {live.tags[APP_TAG]!r} ({live.tags.get(ENV_TAG)}), "
            f"not to {address}: give this deployment another `stack_name`"
        )
    raise DeployError(
        f"{live.name} exists and was not deployed by jiti (it has no jiti:* tags): jiti neither "
        f"updates nor deletes it; delete it yourself, or give {address} another `stack_name`"
    )


def check_preview(live: LiveStack, address: str, preview: str | None) -> None:
    """The live stack is of the same preview environment as the deployment (or of none)."""
    found = live.tags.get(PREVIEW_TAG)
    if found == preview:
        return
    if found is None:
        raise DeployError(
            f"{live.name} exists and is not a stack of the preview {preview!r}: a preview never "
            f"takes over another environment's stack; remove it or name the preview otherwise"
        )
    raise DeployError(
        f"{live.name} is a stack of the preview {found!r}, not {address}'s own: remove that "
        f"preview (`pants --jiti-preview={found} destroy-stacks --jiti-destroy-confirm`) or give "
        "this deployment another `stack_name` or `environment`"
    )


def check_not_newer(live: LiveStack, source, name: str) -> None:
    """Refuse to replace what a newer commit deployed (`--jiti-force` overrides)."""
    if source is None or live.commit_time is None or live.commit_time <= source.time:
        return
    raise DeployError(
        f"{name} was deployed from commit {live.record.get(COMMIT_OUTPUT, '?')[:12]}, newer than "
        f"this one ({source.short}): an older commit does not replace it; deploy from the newer "
        "commit, or pass --jiti-force (`pants run ... -- --force`) to replace it anyway"
    )
