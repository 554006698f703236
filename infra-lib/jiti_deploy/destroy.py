"""`destroy-stacks`: delete the stacks of the selected deployments, or a whole preview.

The inventory holds every deployment of the repository (where each stack lives), so that every
account and region it reaches is read, with one paginated DescribeStacks each, as prune reads
them. A selected deployment's stack is deleted only if its `jiti:repository` and
`jiti:deployment` tags are this repository's and this deployment's; one that a live stack
outside the selection depends on (its `jiti:depends-on` tags: inputs and dependencies) is
refused, naming that stack; a stack in a protected environment (its `jiti:env` tag) stops the
run before anything is deleted. With `--preview NAME`, every stack tagged with this repository
and `jiti:preview=NAME` goes. Deletion, its order (dependents first) and its refusals are
prune's (`prune.settle`, `prune.delete_all`): by stack id, read again first. What a deletion
keeps (DeletionPolicy Retain) is listed, or deleted with `--destroy-data` (`retained_data`).
"""

from __future__ import annotations

from jiti_contract import (
    DEPLOYMENT_TAG,
    ENV_TAG,
    PREVIEW_TAG,
    REPOSITORY_TAG,
    Inventory,
    depends_on_from_tags,
    deployment_tag,
)
from jiti_deploy import interrupt, prune, retained_data
from jiti_deploy.errors import DeployError
from jiti_deploy.prune import Candidate
from jiti_deploy.report import Outcome, Result, table


class Refused(DeployError):
    """The run may not delete what was asked: nothing is deleted."""


def run(
    destinations,
    inventory: Inventory,
    *,
    selected: tuple[str, ...] = (),
    preview: str | None = None,
    confirm: bool,
    destroy_data: bool,
    protected: tuple[str, ...] = (),
    max_parallel: int,
    outcomes: list,
    log=print,
) -> None:
    """List (or, with `confirm`, delete) the selected deployments' stacks, or the preview's;
    add a row per stack to `outcomes`."""
    unreachable: list[Outcome] = []
    resolved = prune.resolve(destinations, inventory, unreachable)
    places = {where: destination for _, where, destination in resolved}
    listed = prune.read_places(places, unreachable)
    outcomes += unreachable
    if preview:
        candidates, absent = of_preview(listed, places, inventory.repository, preview), []
    else:
        candidates, absent = of_selection(resolved, listed, selected, inventory.repository)
        refuse_consumed(candidates, listed, inventory.repository)
    check_protected(candidates, protected)
    prune.settle(candidates)
    for c in candidates:
        log(f"{c.stack.name} ({c.destination.account}/{c.destination.region}): {c.reason or c.why}")
    if confirm and not interrupt.requested():
        prune.delete_all(candidates, max_parallel=max_parallel, log=log)
        for c in candidates:
            settle_data(c, destroy_data, log)
    outcomes += absent + [prune.outcome(c) for c in candidates]


def of_preview(listed: dict, places: dict, repository: str, preview: str) -> list[Candidate]:
    """Every stack of this repository tagged with the preview, wherever the repository
    reaches."""
    return [
        prune.candidate(stack, places[where], f"part of the preview {preview}")
        for where, stacks in listed.items()
        for stack in prune.owned(stacks, repository)
        if stack.tags.get(PREVIEW_TAG) == preview
    ]


def of_selection(
    resolved: list[tuple], listed: dict, selected: tuple[str, ...], repository: str
) -> tuple[list[Candidate], list[Outcome]]:
    """The selected deployments' stacks (those found; a row for each absent one), each refused
    unless its tags say this repository and this deployment deployed it."""
    candidates, absent = [], []
    for place, where, destination in resolved:
        if place.address not in selected:
            continue
        found = [s for s in listed.get(where, ()) if s.name == place.stack_name]
        if not found:
            absent.append(_absent(place, destination))
            continue
        c = prune.candidate(found[0], destination, f"destroy-stacks {place.address}")
        c.owner = deployment_tag(place.address)
        c.reason = _not_owned(found[0], place.address, repository) or ""
        if place.stack_set:
            c.reason = "a StackSet: destroy-stacks deletes only stacks"
        if c.reason:
            c.result = Result.REFUSED
        candidates.append(c)
    return candidates, absent


def _not_owned(stack, address: str, repository: str) -> str | None:
    """Why the stack is not this deployment's to delete, or None."""
    tags = stack.tags
    if tags.get(REPOSITORY_TAG) != repository:
        return (
            f"its jiti:repository tag is {tags.get(REPOSITORY_TAG)!r}, not {repository!r}: "
            "destroy-stacks deletes only this repository's stacks"
        )
    if tags.get(DEPLOYMENT_TAG) != deployment_tag(address):
        return (
            f"its jiti:deployment tag is {tags.get(DEPLOYMENT_TAG)!r}, not {address!r}: "
            "another deployment owns it"
        )
    return None


def _absent(place, destination) -> Outcome:
    return Outcome(
        place.address,
        place.stack_name,
        destination.kind,
        destination.account,
        destination.region,
        Result.ABSENT,
        "none",
        "-",
        0.0,
        reason="no such stack: nothing to delete",
    )


def refuse_consumed(candidates: list[Candidate], listed: dict, repository: str) -> None:
    """Refuse a stack that a live stack outside the selection depends on, naming it. A
    preview's stack that has its own copy of the deployment depends on that copy instead."""
    going = {c.key for c in candidates}
    stacks = [s for ss in listed.values() for s in prune.owned(ss, repository)]
    copies = {(s.tags.get(PREVIEW_TAG), s.tags.get(DEPLOYMENT_TAG)) for s in stacks}
    for c in candidates:
        if c.result is not None:
            continue
        tag = c.owner
        users = sorted(
            s.name
            for s in stacks
            if (s.stack_id or s.name) not in going
            and tag in depends_on_from_tags(s.tags)
            and not (PREVIEW_TAG in s.tags and (s.tags[PREVIEW_TAG], tag) in copies)
        )
        if users:
            c.result = Result.REFUSED
            c.reason = (
                f"{', '.join(users)} {'depends' if len(users) == 1 else 'depend'} on it and "
                f"{'is' if len(users) == 1 else 'are'} not being destroyed: destroy "
                f"{'it' if len(users) == 1 else 'them'} first, or with it"
            )


def check_protected(candidates: list[Candidate], protected: tuple[str, ...]) -> None:
    """A stack of a protected environment stops the run before anything is deleted."""
    found = sorted(
        f"{c.owner} ({c.stack.tags[ENV_TAG]})"
        for c in candidates
        if c.result is None and c.stack.tags.get(ENV_TAG) in protected
    )
    if found:
        raise Refused(
            f"destroy-stacks: {', '.join(found)}: a protected environment "
            "([jiti].protected_environments); add --jiti-destroy-protected to destroy it"
        )


def settle_data(c: Candidate, destroy_data: bool, log) -> None:
    """What the deletion kept: listed, or deleted with `destroy_data`; a failure to delete it
    fails the stack's row."""
    if c.result is not Result.DELETED or not c.kept:
        return
    c.retained = retained_data.handle(c.destination, c.kept, delete=destroy_data, log=log)
    failed = [r for r in c.retained if r["fate"] == "failed"]
    if failed:
        c.result = Result.FAILED
        c.error = "; ".join(f"{r['physical_id']}: {r['error']}" for r in failed)


def summary(outcomes: list[Outcome], confirmed: bool, elapsed_s: float) -> str:
    if not outcomes:
        return f"nothing to destroy\ndone in {elapsed_s:.1f}s"
    rows = [
        (
            o.stack,
            o.deployment,
            f"{o.account}/{o.region}",
            o.result.value,
            o.error or o.reason or "",
        )
        for o in outcomes
    ]
    lines = [table(("stack", "deployment", "account/region", "result", "why"), rows)]
    for o in outcomes:
        for row in o.retained:
            lines.append(f"{o.stack}: retained resource {retained_data.describe(row)}")
    if not confirmed and any(o.result is Result.WOULD_DELETE for o in outcomes):
        lines.append("dry run: nothing deleted; add --jiti-destroy-confirm to delete")
    lines.append(f"done in {elapsed_s:.1f}s")
    return "\n".join(lines)
