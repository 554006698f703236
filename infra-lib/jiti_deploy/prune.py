"""`prune-stacks`: delete the stacks this repository deployed and no longer deploys.

A stack is this repository's when it carries its `jiti:repository` tag; it is no longer deployed
when no `cloudformation_deployment` in the repository (every one, not only selected ones) deploys
its name to its account and region. Nothing else is ever touched. What is live is read with one
paginated DescribeStacks per account and region the repository's deployments reach. Without
`--confirm` the stacks are only listed, with the reason. With it they are deleted by stack id,
dependents first (the `jiti:depends-on` tags their deployments recorded), a stack with
termination protection is refused, and resources a deletion leaves behind (DeletionPolicy
Retain) are reported. A stack left in REVIEW_IN_PROGRESS (a CREATE change set never executed)
has no tags on CloudFormation: it is known by its change sets' tags (`in_review`). StackSets are
found the same way, and deleted with their instances (whose stacks, named `StackSet-...`, are
never deleted one by one; nor are nested stacks, which carry their parent's tags and go with
it). With `--prune-assets`, assets-bucket objects that no live stack or StackSet references any
more, and older than a grace period, are deleted as well
(`assets.unused`). A preview environment's stack (tag `jiti:preview`) is never pruned as no
longer deployed (its deployment deploys another name): with `--prune-expired` it is once its
`jiti:expires` has passed; `destroy.py` removes a whole preview. The deletion (`delete_all`),
its order and refusals are `destroy.py`'s too.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone

from botocore.exceptions import BotoCoreError, ClientError, WaiterError

from jiti_contract import (
    DEPLOYMENT_TAG,
    EXPIRES_TAG,
    PREVIEW_TAG,
    REPOSITORY_TAG,
    VERSION_OUTPUT,
    Inventory,
    depends_on_from_tags,
)
from jiti_deploy import in_review, interrupt, live, record, stack_sets, unused_assets
from jiti_deploy.batch import PrefixedLog
from jiti_deploy.destinations import Destination, Destinations
from jiti_deploy.errors import DeployError
from jiti_deploy.report import Outcome, Result, table

WAIT = {"Delay": 2, "MaxAttempts": 900}
Where = tuple  # (account, region), as resolved


@dataclass
class Candidate:
    """A live stack of this repository that no deployment deploys any more."""

    stack: live.LiveStack
    destination: Destination
    owner: str  # its jiti:deployment tag
    first: set = field(default_factory=set)  # candidates to delete before it (stack ids)
    result: Result | None = None
    reason: str = ""  # why it may not go
    why: str = ""  # why it goes, when not that no deployment deploys it
    retained: list = field(default_factory=list)
    kept: list = field(default_factory=list)  # the DELETE_SKIPPED events of its deletion
    error: str | None = None
    started: float = 0.0
    ended: float = 0.0

    @property
    def key(self) -> str:
        return self.stack.stack_id or self.stack.name


def find(
    destinations: Destinations, inventory: Inventory, log, *, prune_expired: bool = False
) -> tuple[
    list[Candidate], dict[Where, Destination], dict[Where, list[live.LiveStack]], list[Outcome]
]:
    """The repository's stacks that no deployment deploys, where it deploys; also every place
    read and what is live there (for the assets), and a row for each place that could not be read.
    """
    unreachable: list[Outcome] = []
    resolved = resolve(destinations, inventory, unreachable)
    places = {where: destination for _, where, destination in resolved}
    wanted = {(*where, place.stack_name) for place, where, _ in resolved}
    _check_regions(inventory, places)
    listed = read_places(places, unreachable)
    now = datetime.now(timezone.utc)
    candidates = []
    for where, stacks in listed.items():
        for stack in owned(stacks, inventory.repository):
            if PREVIEW_TAG in stack.tags:  # its deployment deploys another name: never orphaned
                why = expired(stack, now) if prune_expired else None
                if why:
                    candidates.append(candidate(stack, places[where], why))
                continue
            if (*where, stack.name) not in wanted:
                candidates.append(candidate(stack, places[where]))
    settle(candidates)
    log(
        f"{count(len(candidates), 'stack')} of repository {inventory.repository!r} "
        f"{'is' if len(candidates) == 1 else 'are'} no longer deployed"
    )
    return candidates, places, listed, unreachable, wanted


def resolve(
    destinations: Destinations, inventory: Inventory, unreachable: list[Outcome]
) -> list[tuple]:
    """(place, where, destination) for each place of the inventory whose account and region
    are known; a row in `unreachable` for each other."""
    resolved = []
    for place in inventory.stacks:
        try:
            destination = destinations.of_place(place)
        except (DeployError, ClientError, BotoCoreError) as e:
            unreachable.append(unreadable(place.account, place.region, str(e)))
            continue
        resolved.append((place, (destination.account, destination.region), destination))
    return resolved


def read_places(
    places: dict[Where, Destination], unreachable: list[Outcome]
) -> dict[Where, list[live.LiveStack]]:
    """Every live stack of each place, in one paginated listing; a row in `unreachable` for
    each place that could not be read."""
    listed = {}
    for where, destination in sorted(places.items()):
        try:
            listed[where] = all_stacks(destination.client("cloudformation"))
        except (ClientError, BotoCoreError) as e:
            unreachable.append(unreadable(*where, f"cannot list its stacks: {e}"))
    return listed


def owned(stacks: list[live.LiveStack], repository: str):
    """The stacks this repository may delete on their own: its tag, and neither nested (its
    parent's) nor a StackSet's instance (its StackSet's); they go with those, never alone."""
    for stack in stacks:
        if stack.tags.get(REPOSITORY_TAG) != repository:
            continue  # not this repository's: never touched
        if stack.nested or stack.name.startswith("StackSet-"):
            continue
        yield stack


def candidate(stack: live.LiveStack, destination: Destination, why: str = "") -> Candidate:
    return Candidate(stack, destination, stack.tags.get(DEPLOYMENT_TAG, "?"), why=why)


def expired(stack: live.LiveStack, now: datetime) -> str | None:
    """Why a preview's stack goes, once its `jiti:expires` has passed; None while it lives
    (or when the tag is not a time: then it is never taken for expired)."""
    text = stack.tags.get(EXPIRES_TAG, "")
    try:
        expires = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if expires.tzinfo is None or expires > now:
        return None
    return f"the preview {stack.tags[PREVIEW_TAG]} expired at {text}"


def settle(candidates: list[Candidate]) -> None:
    """Order the candidates (dependents first) and refuse those that may not go."""
    order(candidates)
    _refuse_in_review(candidates)
    refuse(candidates)


class Refused(DeployError):
    """Pruning would have to guess what is deployed where: nothing is read or deleted."""


def _check_regions(inventory: Inventory, places: dict[Where, Destination]) -> None:
    """A deployment without a region deploys to whatever region was the default then: when the
    repository reaches several, its stack may live in another one, and would look no longer
    deployed there."""
    regions = sorted({region for _, region in places})
    vague = sorted(p.address for p in inventory.stacks if not p.region)
    if vague and len(regions) > 1:
        raise Refused(
            f"{', '.join(vague)} {'has' if len(vague) == 1 else 'have'} no `region`, and "
            f"prune-stacks reaches {', '.join(regions)}: set its `region`, so that where its "
            "stack lives is known and it is never taken for one no longer deployed"
        )


def count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def unreadable(account, region, error: str) -> Outcome:
    return Outcome(
        "-", "-", "?", account or "?", region or "?", Result.FAILED, "-", "-", 0.0, error
    )


def all_stacks(cfn) -> list[live.LiveStack]:
    """Every live stack; one left in review carries its change sets' ownership tags."""
    return [
        in_review.with_owner(cfn, live.LiveStack.from_description(s))
        for page in cfn.get_paginator("describe_stacks").paginate()
        for s in page["Stacks"]
        if s["StackStatus"] != "DELETE_COMPLETE"
    ]


def _refuse_in_review(candidates: list[Candidate]) -> None:
    """A stack in review whose change set another job may still execute is not deleted."""
    for c in candidates:
        if c.stack.status != in_review.REVIEW:
            continue
        cfn = c.destination.client("cloudformation")
        busy = in_review.in_use(in_review.change_sets(cfn, c.stack))
        if busy:
            c.result = Result.REFUSED
            c.reason = (
                f"it is {c.stack.status} and another deploy may be about to create it (change "
                f"set {', '.join(busy)}): run prune-stacks again once it has run, or after "
                f"{in_review.FRESH_S // 60} minutes"
            )


def order(candidates: list[Candidate]) -> None:
    """A stack whose deployment depended on another goes first: its `first` set names the
    candidates that depend on it."""
    by_owner: dict[str, list[Candidate]] = {}
    for c in candidates:
        by_owner.setdefault(c.owner, []).append(c)
    for c in candidates:
        for dependency in depends_on_from_tags(c.stack.tags):
            for d in by_owner.get(dependency, ()):
                d.first.add(c.key)


def refuse(candidates: list[Candidate]) -> bool:
    """Stacks that may not be deleted, and those a stack depending on them keeps; True if
    this changed the result of any."""
    before = [c.result for c in candidates]
    for c in candidates:
        if c.stack.termination_protection:
            c.result = Result.REFUSED
            c.reason = (
                "termination protection is on: turn it off (`aws cloudformation "
                f"update-termination-protection --no-enable-termination-protection --stack-name "
                f"{c.stack.name}`) to let it be deleted"
            )
        elif c.stack.busy:
            c.result = Result.REFUSED
            c.reason = f"it is {c.stack.status}: run again once it has settled"
    by_key = {c.key: c for c in candidates}
    changed = True
    while changed:
        changed = False
        for c in candidates:
            if c.result is not None:
                continue
            staying = [by_key[k].stack.name for k in sorted(c.first) if by_key[k].result in _STAYS]
            if staying:
                c.result = Result.KEPT
                c.reason = f"{', '.join(staying)} depends on it and stays"
                changed = True
    return [c.result for c in candidates] != before


_STAYS = (Result.REFUSED, Result.KEPT, Result.FAILED, Result.INTERRUPTED)


def _why(c: Candidate) -> str:
    if c.why:
        return c.why
    return (
        f"no deployment deploys {c.stack.name} to {c.destination.account}/"
        f"{c.destination.region} any more (it was deployed by {c.owner})"
    )


def describe_kept(e: dict) -> str:
    return f"{e['LogicalResourceId']} ({e['ResourceType']}): {e.get('PhysicalResourceId') or '?'}"


def kept_events(cfn, stack_id: str) -> list[dict]:
    """The events of resources the deletion kept (DELETE_SKIPPED), since it started."""
    kept = []
    for page in cfn.get_paginator("describe_stack_events").paginate(StackName=stack_id):
        for e in page["StackEvents"]:
            if (
                e["ResourceType"] == "AWS::CloudFormation::Stack"
                and e["ResourceStatus"] == "DELETE_IN_PROGRESS"
            ):
                return kept
            if e["ResourceStatus"] == "DELETE_SKIPPED":
                kept.append(e)
    return kept


def _failure(cfn, stack_id: str, name: str) -> str:
    failed = [
        f"  {e['LogicalResourceId']} ({e['ResourceType']}): {e.get('ResourceStatusReason', 'no reason given')}"
        for page in cfn.get_paginator("describe_stack_events").paginate(StackName=stack_id)
        for e in page["StackEvents"]
        if e["ResourceStatus"] == "DELETE_FAILED"
        and e["ResourceType"] != "AWS::CloudFormation::Stack"
    ]
    return "\n".join([f"{name}: deletion failed", *failed])


def delete(c: Candidate, log) -> None:
    """Delete one stack by its id, after reading it again: it must still be this repository's
    and this deployment's stack, settled and unprotected."""
    cfn, name = c.destination.client("cloudformation"), c.stack.name
    interrupt.check(f"{name}: interrupted before it was deleted; nothing changed")
    again = in_review.with_owner(cfn, live.describe(cfn, c.stack.stack_id))
    if again is None or again.status == "DELETE_COMPLETE":
        c.result, c.reason = Result.DELETED, "already gone"
        return
    in_review.check_abandoned(cfn, again)
    if (
        any(again.tags.get(t) != c.stack.tags.get(t) for t in (REPOSITORY_TAG, DEPLOYMENT_TAG))
        or again.termination_protection
        or again.busy
    ):
        raise DeployError(f"{name} changed since it was read: run again")
    log(f"deleting {name} ({c.stack.stack_id})")
    cfn.delete_stack(StackName=c.stack.stack_id)
    try:
        cfn.get_waiter("stack_delete_complete").wait(StackName=c.stack.stack_id, WaiterConfig=WAIT)
    except WaiterError:
        raise DeployError(_failure(cfn, c.stack.stack_id, name)) from None
    c.kept = kept_events(cfn, c.stack.stack_id)
    c.retained = [describe_kept(e) for e in c.kept]
    c.result = Result.DELETED
    kept = f"; kept {count(len(c.retained), 'retained resource')}" if c.retained else ""
    log(f"{name}: deleted{kept}")
    for kept in c.retained:
        log(f"  kept {kept}")


def delete_all(candidates: list[Candidate], *, max_parallel: int, log) -> None:
    """Delete in rounds: each round, every stack whose dependents are gone, side by side."""
    lock = threading.Lock()
    by_key = {c.key: c for c in candidates}

    def one(c: Candidate) -> None:
        c.started = time.monotonic()
        plog = PrefixedLog(
            log, lock, " ".join((c.stack.name, c.destination.account, c.destination.region))
        )
        try:
            delete(c, plog)
        except interrupt.Interrupted as e:
            c.result, c.error = Result.INTERRUPTED, str(e)
        except (DeployError, ClientError, BotoCoreError) as e:
            c.result, c.error = Result.FAILED, str(e)
            plog(f"error: {e}")
        except Exception as e:  # noqa: BLE001 - one stack's failure is its own
            c.result, c.error = Result.FAILED, f"{type(e).__name__}: {e}"
            plog(f"error: {c.error}")
        c.ended = time.monotonic()

    with ThreadPoolExecutor(max_workers=max(1, max_parallel)) as pool:
        while True:
            pending = [c for c in candidates if c.result is None]
            if not pending:
                return
            ready = [c for c in pending if all(by_key[k].result is Result.DELETED for k in c.first)]
            if not ready:  # what they wait for did not go: they stay
                if not refuse(candidates):  # they wait for each other
                    for c in pending:
                        c.result, c.reason = Result.KEPT, "its dependents form a cycle"
                continue
            list(pool.map(one, ready))
            refuse(candidates)


def outcome(c: Candidate) -> Outcome:
    result = c.result or Result.WOULD_DELETE
    return Outcome(
        c.owner,
        c.stack.name,
        c.destination.kind,
        c.destination.account,
        c.destination.region,
        result,
        (c.stack.version or "none")[:12],
        "-",
        round(max(0.0, c.ended - c.started), 2),
        c.error,
        reason=c.reason or _why(c),
        retained=c.retained,
    )


def run(
    destinations: Destinations,
    inventory: Inventory,
    *,
    confirm: bool,
    max_parallel: int,
    assets_grace_days: float | None,
    outcomes: list,
    assets: list,
    log=print,
    prune_expired: bool = False,
) -> None:
    """List (or, with `confirm`, delete) what the repository no longer deploys (and, with
    `prune_expired`, the expired previews); add a row per stack to `outcomes` and, with
    `assets_grace_days`, one per unused asset to `assets`."""
    candidates, places, listed, unreachable, wanted = find(
        destinations, inventory, log, prune_expired=prune_expired
    )
    outcomes += unreachable
    for c in sorted(
        candidates, key=lambda c: (c.destination.account, c.destination.region, c.stack.name)
    ):
        log(
            f"{c.stack.name} ({c.destination.account}/{c.destination.region}): {c.reason or _why(c)}"
        )
    if confirm and not interrupt.requested():
        delete_all(candidates, max_parallel=max_parallel, log=log)
    outcomes += [outcome(c) for c in candidates]
    for where, destination in sorted(places.items()):
        if where in listed and not interrupt.requested():
            outcomes += prune_stack_sets(destination, inventory.repository, wanted, confirm, log)
    if assets_grace_days is not None and not interrupt.requested():
        going = {c.key for c in candidates if c.result in (None, Result.DELETED)}
        staying = {
            where: [s for s in stacks if (s.stack_id or s.name) not in going]
            for where, stacks in listed.items()
        }
        assets += unused_assets.prune(
            places, staying, grace_days=assets_grace_days, confirm=confirm, log=log
        )


def prune_stack_sets(
    destination: Destination, repository: str, wanted: set, confirm: bool, log
) -> list[Outcome]:
    """The repository's StackSets administered here that no deployment deploys: listed, or
    deleted with their instances."""
    cfn, found = destination.client("cloudformation"), []
    for page in cfn.get_paginator("list_stack_sets").paginate(Status="ACTIVE"):
        for summary in page["Summaries"]:
            name = summary["StackSetName"]
            if summary.get("Status") != "ACTIVE":
                continue
            if (destination.account, destination.region, name) in wanted:
                continue
            described = cfn.describe_stack_set(StackSetName=name)["StackSet"]
            tags = {t["Key"]: t["Value"] for t in described.get("Tags", [])}
            if tags.get(REPOSITORY_TAG) != repository:
                continue
            found.append((name, tags, record.from_template(described.get("TemplateBody"))))
    outcomes = []
    for name, tags, recorded in sorted(found):
        started, result, error = time.monotonic(), Result.WOULD_DELETE, None
        owner = tags.get(DEPLOYMENT_TAG, "?")
        reason = (
            f"no deployment deploys the StackSet {name} from {destination.account}/"
            f"{destination.region} any more (it was deployed by {owner})"
        )
        log(f"StackSet {name} ({destination.account}/{destination.region}): {reason}")
        if confirm:
            try:
                instances = stack_sets.delete(destination, name, log=log)
                result = Result.DELETED
                reason = f"{reason}; {count(instances, 'instance')} deleted with it"
            except (DeployError, ClientError, BotoCoreError) as e:
                result, error = Result.FAILED, str(e)
                log(f"StackSet {name}: error: {e}")
        outcomes.append(
            Outcome(
                owner,
                name,
                destination.kind,
                destination.account,
                destination.region,
                result,
                (recorded.get(VERSION_OUTPUT) or "none")[:12],
                "-",
                round(time.monotonic() - started, 2),
                error,
                reason=reason,
            )
        )
    return outcomes


def summary(outcomes: list[Outcome], assets: list[dict], confirmed: bool, elapsed_s: float) -> str:
    lines = []
    if outcomes:
        rows = [
            (
                o.stack,
                o.deployment,
                o.target,
                f"{o.account}/{o.region}",
                o.result.value,
                o.reason or o.error or "",
            )
            for o in outcomes
        ]
        lines.append(
            table(("stack", "deployed by", "target", "account/region", "result", "why"), rows)
        )
        for o in outcomes:
            for kept in o.retained:
                lines.append(f"{o.stack}: left behind (DeletionPolicy Retain): {kept}")
    else:
        lines.append("nothing to prune: every stack of this repository is still deployed")
    if assets:
        size = sum(a["size"] for a in assets)
        verb = "deleted" if confirmed else "would delete"
        lines.append(f"unused assets: {verb} {count(len(assets), 'object')} ({size:,} bytes)")
    if (
        not confirmed
        and any(o.result is Result.WOULD_DELETE for o in outcomes)
        or (not confirmed and assets)
    ):
        lines.append("dry run: nothing deleted; add --jiti-prune-confirm to delete")
    lines.append(f"done in {elapsed_s:.1f}s")
    return "\n".join(lines)
