"""A stack in REVIEW_IN_PROGRESS: made by a CREATE change set that was never executed (its create
failed, or the job that made it was stopped before executing or discarding it).

CloudFormation gives such a stack no tags until the change set is executed, so its owner is
read from its change sets' tags (`jiti:deployment`, `jiti:repository`, ...). A change set
that is being made, or is ready and young, may still be executed by the job that made it: that
stack is not taken over or deleted until it is older than FRESH_S.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

from jiti_contract import (
    APP_TAG,
    DEPENDS_ON_TAG,
    DEPLOYMENT_TAG,
    ENV_TAG,
    REPOSITORY_TAG,
)
from jiti_deploy.errors import DeployError
from jiti_deploy.live import LiveStack

REVIEW = "REVIEW_IN_PROGRESS"
# A change set younger than this may still be executed by the job that made it (jiti executes
# its own within minutes of making it).
FRESH_S = 1800
OWNERSHIP = (DEPLOYMENT_TAG, REPOSITORY_TAG, APP_TAG, ENV_TAG)


def _owning(key: str) -> bool:
    return key in OWNERSHIP or key.startswith(DEPENDS_ON_TAG)


def change_sets(cfn, stack: LiveStack) -> list[dict]:
    """The stack's change sets (ListChangeSets summaries), every page."""
    pages = cfn.get_paginator("list_change_sets").paginate(StackName=stack.stack_id or stack.name)
    return [summary for page in pages for summary in page["Summaries"]]


def _owner_tags(cfn, stack: LiveStack, summaries: list[dict]) -> dict:
    """The ownership tags the stack's change sets carry; {} when none carries any."""
    found: dict[str, dict] = {}
    for summary in summaries:
        described = cfn.describe_change_set(ChangeSetName=summary["ChangeSetId"])
        tags = {t["Key"]: t["Value"] for t in described.get("Tags") or []}
        owned = {k: v for k, v in tags.items() if _owning(k)}
        if owned.get(DEPLOYMENT_TAG):
            found.setdefault(owned[DEPLOYMENT_TAG], owned)
    if len(found) > 1:
        raise DeployError(
            f"{stack.name} is {REVIEW} with change sets of several deployments "
            f"({', '.join(sorted(found))}): delete it (`aws cloudformation delete-stack "
            f"--stack-name {stack.name}`) once none of them runs, then deploy again"
        )
    return next(iter(found.values()), {})


def with_owner(cfn, stack: LiveStack | None) -> LiveStack | None:
    """`stack`, with its change sets' ownership tags when it is in review and carries none."""
    if stack is None or stack.status != REVIEW:
        return stack
    if stack.tags.get(DEPLOYMENT_TAG) or stack.tags.get(REPOSITORY_TAG):
        return stack
    owned = _owner_tags(cfn, stack, change_sets(cfn, stack))
    return dataclasses.replace(stack, tags={**stack.tags, **owned})


def _age_s(summary: dict, now: datetime) -> float:
    created = summary.get("CreationTime")
    return (now - created).total_seconds() if isinstance(created, datetime) else 0.0


def in_use(summaries: list[dict], now: datetime | None = None) -> list[str]:
    """The change sets another job may still execute: being made, ready or executing, and
    younger than FRESH_S; as `name (made N min ago)`."""
    now = now or datetime.now(timezone.utc)
    return [
        f"{s.get('ChangeSetName', '?')} (made {int(_age_s(s, now) // 60)} min ago)"
        for s in summaries
        if s.get("Status") in ("CREATE_PENDING", "CREATE_IN_PROGRESS", "CREATE_COMPLETE")
        and s.get("ExecutionStatus") in ("UNAVAILABLE", "AVAILABLE", "EXECUTE_IN_PROGRESS")
        and _age_s(s, now) < FRESH_S
    ]


def check_abandoned(cfn, stack: LiveStack) -> None:
    """Refuse to delete a stack in review whose change set another job may still execute."""
    if stack.status != REVIEW:
        return
    busy = in_use(change_sets(cfn, stack))
    if busy:
        raise DeployError(
            f"{stack.name} is {REVIEW}: another deploy may be about to create it (change set "
            f"{', '.join(busy)}); deploy again once it has run, or after {FRESH_S // 60} "
            "minutes, when its change set counts as abandoned"
        )
