"""A preview environment's stacks (`deploy-stacks --jiti-preview=<name>`): their tags, and when
they expire. Their ownership is checked with every stack's, in `live.check_owner`."""

from __future__ import annotations

import time

from jiti_contract import EXPIRES_TAG, PREVIEW_TAG, Plan


def expires_at(now: float, ttl_hours: int) -> str:
    """`ttl_hours` after `now`, rounded down to the hour, as ISO 8601 UTC: deploys within the
    same hour give the same value, so they leave an unchanged stack (and its resources' tags)
    alone; a deploy in a later hour renews it."""
    return time.strftime("%Y-%m-%dT%H:00:00Z", time.gmtime(now + ttl_hours * 3600))


def tags(plan: Plan, expires: str | None) -> dict[str, str]:
    """The preview's tags of a preview copy's stack; none for any other stack."""
    if plan.preview is None or expires is None:
        return {}
    return {PREVIEW_TAG: plan.preview.name, EXPIRES_TAG: expires}


def is_renewed(tags_now: dict, plan: Plan, expires: str | None) -> bool:
    """The live stack already carries this deploy's expiry (always, for a stack of no preview)."""
    return plan.preview is None or tags_now.get(EXPIRES_TAG) == expires
