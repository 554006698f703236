"""What is deployed now, from one DescribeStacks call, and whether it may be touched."""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import ClientError

from jiti_contract import (
    APP_TAG,
    COMMIT_TAG,
    COMMIT_TIME_TAG,
    CONFIG_TAG,
    DEPLOYMENT_TAG,
    ENV_TAG,
    VERSION_TAG,
    deployment_tag,
)
from jiti_deploy.errors import DeployError

STABLE = {
    "CREATE_COMPLETE",
    "UPDATE_COMPLETE",
    "UPDATE_ROLLBACK_COMPLETE",
    "IMPORT_COMPLETE",
    "IMPORT_ROLLBACK_COMPLETE",
}


@dataclass(frozen=True)
class LiveStack:
    name: str
    status: str
    tags: dict
    outputs: dict
    reason: str | None = None
    termination_protection: bool = False
    stack_id: str | None = None

    @classmethod
    def from_description(cls, stack: dict) -> "LiveStack":
        return cls(
            name=stack["StackName"],
            status=stack["StackStatus"],
            tags={t["Key"]: t["Value"] for t in stack.get("Tags", [])},
            outputs={o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", []) or []},
            reason=stack.get("StackStatusReason"),
            termination_protection=bool(stack.get("EnableTerminationProtection")),
            stack_id=stack.get("StackId"),
        )

    @property
    def busy(self) -> bool:
        """An operation is running on the stack (REVIEW_IN_PROGRESS is a stack no operation
        created yet: a CREATE change set never executed)."""
        return self.status.endswith("_IN_PROGRESS") and self.status != "REVIEW_IN_PROGRESS"

    @property
    def commit_time(self) -> int | None:
        try:
            return int(self.tags[COMMIT_TIME_TAG])
        except (KeyError, ValueError):
            return None

    def is_current(self, version: str, config: str) -> bool:
        """Deployed from this exact version and settings, and settled."""
        return (
            self.status in STABLE
            and self.status != "UPDATE_ROLLBACK_COMPLETE"
            and self.tags.get(VERSION_TAG) == version
            and self.tags.get(CONFIG_TAG) == config
        )


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


def check_owner(live: LiveStack, address: str, app: str, environment: str) -> None:
    """jiti updates and deletes only the stacks its deployment owns (its `jiti:deployment`
    tag; stacks deployed before that tag existed are known by their app and environment)."""
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


def check_not_newer(live: LiveStack, source, name: str) -> None:
    """Refuse to replace what a newer commit deployed (`--jiti-force` overrides)."""
    if source is None or live.commit_time is None or live.commit_time <= source.time:
        return
    raise DeployError(
        f"{name} was deployed from commit {live.tags.get(COMMIT_TAG, '?')[:12]}, newer than "
        f"this one ({source.short}): an older commit does not replace it; deploy from the newer "
        "commit, or pass --jiti-force (`pants run ... -- --force`) to replace it anyway"
    )
