"""One deployment, end to end, in named phases: skip if live, recreate after a failed create,
stage assets and template, change set (checked by the replace gate), then execute and follow
(or only record the version), and finish (stack policy, termination protection, site content,
outputs)."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable

from botocore.exceptions import ClientError

from jiti_contract import TEMPLATE_BODY_LIMIT
from jiti_deploy import (
    capabilities,
    changes,
    config_key,
    events,
    expect_plan,
    hotswap,
    hotswap_apply,
    hotswap_marks,
    in_review,
    inputs,
    interrupt,
    live,
    masking,
    retained,
    settings,
    site_content,
    stack_sets,
)
from jiti_deploy import preview as preview_env
from jiti_deploy.assets import AssetsBucket
from jiti_deploy.deployment import Deployment
from jiti_deploy.destinations import Destination
from jiti_deploy.errors import DeployError
from jiti_deploy.report import Result

# The policy of a stack whose deployment sets none: every update allowed (a stack policy can be
# replaced, never removed).
ALLOW_ALL = {
    "Statement": [{"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"}]
}
NOT_LOOKED_UP = live.NOT_LOOKED_UP
BUSY_WAIT_S = 900  # how long to wait for another deploy of the same stack to end
MOVES = 3  # how often a deploy starts again when the stack moved under its change set
# ExecuteChangeSet's answer for a change set the stack outgrew: OBSOLETE, or deleted when
# another change set of the stack was executed.
STALE_CHANGE_SET = ("InvalidChangeSetStatus", "ChangeSetNotFound")


def _poll_s(destination: Destination) -> float:
    """How often to read a stack that is changing: the local AWS answers at once."""
    return 0.2 if destination.local else 3.0


def _write_outputs(deployment: Deployment, outputs: dict, log=print, into=None) -> None:
    """The stack's outputs, shown and written (and kept in `into`, for the report), those its
    consumers take as secrets masked."""
    masking.add_outputs(outputs, deployment.plan.consumers)
    if into is not None:
        into.update(masking.mask(outputs))
    for key, value in sorted(outputs.items()):
        log(f"  {key} = {value}")
    if deployment.outputs_file:
        deployment.outputs_file.parent.mkdir(parents=True, exist_ok=True)
        shown = masking.mask(outputs)
        deployment.outputs_file.write_text(json.dumps(shown, indent=2, sort_keys=True) + "\n")


def _hide_secrets(deployment: Deployment, change_set: changes.ChangeSet) -> changes.ChangeSet:
    """The change set with each value built from a NoEcho parameter hidden whole."""
    template = json.loads(deployment.template_path.read_text())
    derived = masking.derived_properties(template, deployment.no_echo)
    return masking.hide_derived(change_set, derived) if derived else change_set


def _retained(events_: list[dict]) -> list[str]:
    """Resources a rollback kept (DeletionPolicy Retain), as `Logical (Type): physical id`."""
    return [
        f"{e['LogicalResourceId']} ({e['ResourceType']}): {e.get('PhysicalResourceId') or '?'}"
        for e in events_
        if e["ResourceStatus"] == "DELETE_SKIPPED"
    ]


def _failure_message(deployment: Deployment, status: str, seen_events: list[dict]) -> str:
    failed = [e for e in seen_events if e["ResourceStatus"].endswith("_FAILED")]
    lines = [f"{deployment.stack_name}: deployment failed, stack is {status}"]
    lines += [
        f"  {e['LogicalResourceId']} ({e['ResourceType']}): {e.get('ResourceStatusReason', 'no reason given')}"
        for e in failed
    ]
    kept = _retained(seen_events)
    if status == "ROLLBACK_COMPLETE" and kept:
        lines.append(
            "  The stack was rolled back, but kept these resources (DeletionPolicy Retain):"
        )
        lines += [f"    {k}" for k in kept]
        lines.append("  A new create would collide with them.")
        lines += retained.way_out(deployment, seen_events)
    elif status == "ROLLBACK_COMPLETE":
        lines.append(
            "  The stack was rolled back and holds nothing; fix the cause and deploy again (jiti deletes and recreates it)."
        )
    elif status == "UPDATE_ROLLBACK_COMPLETE":
        lines.append(
            "  The stack was rolled back to its previous version, which is still live; fix the cause and deploy again."
        )
    elif status in ("CREATE_FAILED", "UPDATE_FAILED"):
        lines.append(
            "  Rollback is disabled for this deployment (`disable_rollback`): the stack stays as it "
            "failed; fix the cause and deploy again."
        )
    elif status == "UPDATE_ROLLBACK_FAILED":
        lines.append(
            f"  Fix the resources above, run `aws cloudformation continue-update-rollback --stack-name {deployment.stack_name}`, then deploy again."
        )
    return "\n".join(lines)


# --- phases -------------------------------------------------------------------------------


class Blocked(DeployError):
    """The replace gate stopped the deployment before anything changed."""


def _check_the_gate(
    cfn, deployment: Deployment, change_set: changes.ChangeSet, fail_on_replace: tuple[str, ...]
) -> None:
    """`--jiti-fail-on-replace`: a change set that would replace or delete a resource of a
    guarded type is deleted, unexecuted, and the deployment stops, saying which and why."""
    found = changes.guarded(change_set, fail_on_replace) if fail_on_replace else []
    if not found:
        return
    if change_set.id:  # a local preview made none
        changes.discard(cfn, change_set, deployment.stack_name)
    raise Blocked(
        f"{deployment.stack_name}: stopped before changing anything (--jiti-fail-on-replace): "
        "the change set would replace or delete data:\n"
        + "\n".join(f"  {line}" for line in found)
        + "\n  Keep the resource's name and keys as they are, or deploy without "
        "--jiti-fail-on-replace once you have moved the data (the stack policy may refuse "
        "it too: see `stack_policy`)."
    )


def _apply_stack_policy(cfn, deployment: Deployment, *, created: bool) -> None:
    """The deployment's stack policy: set before each update so that it guards the update, and
    once a new stack exists. Without one, an update sets a policy allowing everything, so a
    policy set by an earlier version does not outlive the resources it named."""
    policy = deployment.plan.stack_policy
    if policy is None and created:
        return
    cfn.set_stack_policy(
        StackName=deployment.stack_name,
        StackPolicyBody=json.dumps(policy if policy is not None else ALLOW_ALL, sort_keys=True),
    )


def _recreate_after_failed_create(
    cfn, deployment: Deployment, current: live.LiveStack, *, dry_run: bool, log, poll_s=3.0
) -> bool:
    """A stack left by a failed create can only be deleted; returns False for a dry run,
    which stops here. The stack is read again first, and deleted by its id, only if it is
    still that stack, in that state, owned by this deployment, and holding nothing."""
    name = deployment.stack_name
    if dry_run:
        log(
            f"{name} is {current.status} from an earlier failed create; a deploy would delete and recreate it"
        )
        return False
    again = live.describe(cfn, name)
    if again is None or again.stack_id != current.stack_id or again.status != current.status:
        raise DeployError(
            f"{name} changed while this deploy ran (it is now {again.status if again else 'gone'}): "
            "deploy again"
        )
    again = in_review.with_owner(cfn, again)
    plan = deployment.plan
    live.check_owner(again, deployment.address, plan.app, plan.environment, deployment.preview_name)
    in_review.check_abandoned(cfn, again)
    history = events.of_last(cfn, again.stack_id, "CREATE_IN_PROGRESS")
    kept = _retained(history)
    if kept:
        raise DeployError(
            f"{name} is {again.status} from an earlier failed create, which kept resources "
            "(DeletionPolicy Retain) that a new create would collide with:\n"
            + "\n".join([*(f"  {k}" for k in kept), *retained.way_out(deployment, history)])
        )
    log(f"{name} is {again.status} from an earlier failed create: deleting it to create it again")
    seen = events.existing_event_ids(cfn, again.stack_id)
    cfn.delete_stack(StackName=again.stack_id)
    gone, _ = events.follow(cfn, again.stack_id, seen, poll_s=poll_s, log=log)
    if gone["StackStatus"] != "DELETE_COMPLETE":
        raise DeployError(
            f"{name} could not be deleted (it is {gone['StackStatus']}): see its events, delete "
            f"it (`aws cloudformation delete-stack --stack-name {name}`), then deploy again"
        )
    return True


def _settled(cfn, deployment: Deployment, current, poll_s: float, log):
    """The live stack once no operation runs on it: another deploy of the same stack (a second
    CI job) is waited for, up to BUSY_WAIT_S, with a message."""
    if not current or not current.busy:
        return current
    name = deployment.stack_name
    log(
        f"{name} is {current.status}: another deploy is running; waiting up to {BUSY_WAIT_S // 60} minutes"
    )
    deadline = time.monotonic() + BUSY_WAIT_S
    while current and current.busy:
        if time.monotonic() > deadline:
            raise DeployError(
                f"{name} is still {current.status} after {BUSY_WAIT_S // 60} minutes: wait for the "
                "other deploy to finish, then deploy again"
            )
        if interrupt.sleep(poll_s):
            raise interrupt.Interrupted(f"{name}: interrupted while waiting for {current.status}")
        current = live.describe(cfn, name)
    return current


def _stage(bucket: AssetsBucket, deployment: Deployment, *, dry_run: bool, log):
    """Make sure the bucket holds the assets' bytes, and say how the change set gets the
    template (None: only a local preview is possible, see AssetsBucket.template_argument) and
    which asset versions it pins."""
    if not dry_run:  # a dry run writes nothing: the change set only needs the bucket's name
        bucket.ensure(log=log)
    versions = bucket.upload(deployment, dry_run=dry_run, log=log)
    return bucket.template_argument(deployment, dry_run=dry_run, log=log), versions


def _preview_locally(
    cfn, deployment: Deployment, current: live.LiveStack | None, log, why: str
) -> changes.ChangeSet:
    """A dry run that cannot ask CloudFormation: compare the templates here (resources added,
    modified and removed; CloudFormation alone can say what a modification replaces)."""
    old = {}
    if current:
        body = cfn.get_template(StackName=deployment.stack_name)["TemplateBody"]
        old = body if isinstance(body, dict) else json.loads(body)
    new = json.loads(deployment.template_path.read_text())
    compared = "compared with the live template here" if current else "the stack is new"
    log(f"{deployment.stack_name}: {why}; {compared}")
    preview = changes.ChangeSet(
        "", "", "UPDATE" if current else "CREATE", changes.local_diff(old, new)
    )
    changes.show(preview, log=log)
    return preview


def _update_without_change_set(
    cfn, deployment: Deployment, template_arg: dict, parameters: dict, log, *, stack_id, poll_s
) -> live.LiveStack:
    """No resource changes: apply the new template, parameters and tags all the same (outputs,
    metadata, conditions and descriptions change nothing CloudFormation counts as a resource
    change, yet the live template must be the one the version names)."""
    name = deployment.stack_name
    log(f"{name}: no resource changes; applying version {deployment.version[:12]}")
    kwargs = {
        "StackName": name,
        **template_arg,
        "Parameters": [
            {"ParameterKey": k, "ParameterValue": str(v)} for k, v in sorted(parameters.items())
        ],
        "Tags": [{"Key": k, "Value": str(v)} for k, v in sorted(settings.tags(deployment).items())],
        "Capabilities": list(capabilities.acknowledged(deployment)),
    }
    if deployment.plan.role_arn:
        kwargs["RoleARN"] = deployment.plan.role_arn
    seen = events.existing_event_ids(cfn, stack_id)
    try:
        cfn.update_stack(**kwargs)
    except ClientError as e:
        # The stack already is exactly this (e.g. it rolled back to this very version).
        if not any(m in e.response["Error"].get("Message", "") for m in changes.NO_CHANGES):
            raise
        log(f"{name}: already at version {deployment.version[:12]}")
        return live.describe(cfn, name)
    stack, seen_events = events.follow(cfn, stack_id, seen, poll_s=poll_s, log=log)
    if stack["StackStatus"] != "UPDATE_COMPLETE":
        raise DeployError(_failure_message(deployment, stack["StackStatus"], seen_events))
    return live.LiveStack.from_description(stack)


def _recheck_before_execute(
    destination: Destination, deployment: Deployment, change_set: changes.ChangeSet, force, log
) -> None:
    """What was read at the start may be stale by now: another deploy may have started, or
    deployed a newer commit, in the meantime. Read the stack once more, right before executing;
    if an operation runs on it now, the change set is out of date once it ends: dropped (_Moved).
    """
    cfn, name = destination.client("cloudformation"), deployment.stack_name
    try:
        interrupt.check(f"{name}: interrupted before executing; nothing changed")
        now = live.describe(cfn, name)
        if now and not now.busy and not force:
            live.check_not_newer(now, deployment.source, name)
    except DeployError:
        changes.discard(cfn, change_set, name)
        raise
    if now and now.busy:  # the operation running now makes the change set obsolete
        raise _stale(cfn, change_set, f"{name} is {now.status}: another deploy started")


def _execute_and_follow(
    destination: Destination, deployment: Deployment, change_set: changes.ChangeSet, log
) -> live.LiveStack:
    """Execute the change set and stream its events; returns the stack as it ends."""
    cfn = destination.client("cloudformation")
    seen = events.existing_event_ids(cfn, change_set.stack_id)
    extra = {"DisableRollback": True} if deployment.plan.disable_rollback else {}
    try:
        cfn.execute_change_set(ChangeSetName=change_set.id, **extra)
    except ClientError as e:
        if e.response["Error"].get("Code") not in STALE_CHANGE_SET:
            raise
        raise _stale(
            cfn, change_set, f"{deployment.stack_name} changed after its change set was made"
        ) from None
    stack, seen_events = events.follow(
        cfn, change_set.stack_id, seen, poll_s=_poll_s(destination), log=log
    )
    if stack["StackStatus"] not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        raise DeployError(_failure_message(deployment, stack["StackStatus"], seen_events))
    return live.LiveStack.from_description(stack)


class _Moved(Exception):
    """The stack changed after the change set was made, which can no longer be executed."""

    def __init__(self, why: str, change_set: changes.ChangeSet):
        super().__init__(why)
        self.change_set = change_set


def _stale(cfn, change_set: changes.ChangeSet, why: str) -> _Moved:
    """Delete a change set the stack outgrew (never its stack: another deploy's now)."""
    try:
        cfn.delete_change_set(ChangeSetName=change_set.id)
    except ClientError as e:
        if e.response["Error"].get("Code") != "ChangeSetNotFound":
            raise
    return _Moved(why, change_set)


def _unfinished(destination: Destination, deployment: Deployment, stack: live.LiveStack) -> list:
    """The steps after the stack update that this version still lacks on `stack`."""
    steps = []
    if stack.termination_protection != deployment.plan.termination_protection:
        steps.append("termination protection")
    if site_content.entries(deployment):
        if not site_content.is_published(AssetsBucket(destination), deployment):
            steps.append("site content")
    return steps


def _finish(
    destination: Destination,
    deployment: Deployment,
    stack: live.LiveStack,
    log,
    *,
    created: bool = False,
    into: dict | None = None,
) -> None:
    """What follows a stack update, and is part of the version: the stack policy of a new
    stack, termination protection as the deployment says, the site content published, then
    the outputs."""
    cfn = destination.client("cloudformation")
    if created:
        _apply_stack_policy(cfn, deployment, created=True)
    if stack.termination_protection != deployment.plan.termination_protection:
        cfn.update_termination_protection(
            StackName=deployment.stack_name,
            EnableTerminationProtection=deployment.plan.termination_protection,
        )
    site_content.publish(destination, deployment, stack.outputs, log=log)
    log(f"{deployment.stack_name}: deployed version {deployment.version[:12]}")
    _write_outputs(deployment, stack.outputs, log=log, into=into)


# --- the whole deployment -----------------------------------------------------------------


def _when_live(
    destination: Destination,
    deployment: Deployment,
    current: live.LiveStack,
    *,
    dry_run,
    log,
    into: dict | None = None,
) -> Result:
    """This version and config are live: up to date, unless a step after the update is missing."""
    name, short = deployment.stack_name, deployment.version[:12]
    unfinished = _unfinished(destination, deployment, current)
    if not unfinished:
        log(f"{name}: up to date (version {short})")
        _write_outputs(deployment, current.outputs, log=lambda _: None, into=into)
        return Result.UP_TO_DATE
    if dry_run:
        log(f"{name}: version {short} is live; a deploy would redo: {', '.join(unfinished)}")
        return Result.DRY_RUN
    log(f"{name}: version {short} is live; redoing what did not finish: {', '.join(unfinished)}")
    _finish(destination, deployment, current, log, into=into)
    return Result.DEPLOYED


@dataclass(frozen=True)
class _Run:
    """How one deployment runs (the options of `deploy`), and its phases."""

    destination: Destination
    dry_run: bool
    force: bool
    fail_on_replace: tuple[str, ...]  # the resource types the replace gate guards
    change_sets: list | None  # each change set made, for the report and the plan
    log: Callable[[str], None]
    expected: expect_plan.Expected | None = None  # the reviewed plan (`--expect-plan`)
    outputs: dict | None = None  # the stack's outputs once deployed, for the report
    swaps: hotswap.Options = hotswap.Options()

    @property
    def cfn(self):
        return self.destination.client("cloudformation")

    def read_live(self, deployment: Deployment, current, stacks) -> tuple[Deployment, Any]:
        """The live stack, settled and owned by this deployment; the values of the inputs."""
        if current is NOT_LOOKED_UP:
            current = live.describe(self.cfn, deployment.stack_name)
        current = _settled(self.cfn, deployment, current, _poll_s(self.destination), self.log)
        current = in_review.with_owner(self.cfn, current)
        if current:
            plan = deployment.plan
            live.check_owner(
                current, deployment.address, plan.app, plan.environment, deployment.preview_name
            )
        deployment = inputs.resolve(deployment, self.destination, stacks, dry_run=self.dry_run)
        masking.add(deployment.secret_values)
        return config_key.keyed(deployment, self.destination, dry_run=self.dry_run), current

    def is_live(self, deployment: Deployment, current) -> bool:
        return bool(
            current
            and not self.force
            and not deployment.pending
            and current.is_current(deployment.version, deployment.config_hash())
            and preview_env.is_renewed(current.tags, deployment.plan, deployment.expires)
        )

    def announce(self, deployment: Deployment, current, stacks) -> None:
        """Refuse what must not be changed, then say what changes, and with which inputs."""
        name, short = deployment.stack_name, deployment.version[:12]
        if current:
            live.check_deployable(current)
            if not self.force:
                live.check_not_newer(current, deployment.source, name)
        live_version = current.version if current else None
        how = f"{' (dry run)' if self.dry_run else ''}{' (forced)' if self.force else ''}"
        if live_version == deployment.version and not self.force:
            self.log(f"{name}: version {short} is live, with other settings or input values{how}")
        else:
            self.log(f"{name}: {(live_version or 'none')[:12]} -> {short}{how}")
        inputs.show(deployment, self.log)
        if stacks is not None:
            inputs.check_consumers(deployment, stacks)

    def hotswapped(self, deployment: Deployment, current) -> bool:
        """`--hotswap`: change the code, environment and site content directly when nothing
        else differs; otherwise say why, and deploy through CloudFormation."""
        name = deployment.stack_name
        try:
            hotswap.check_live(current, deployment.config_hash())
        except hotswap.NotHotswappable as e:
            self.log(f"{name}: not hotswappable: {e}")
            return False
        with ThreadPoolExecutor(3) as pool:  # the bucket, the functions, clients, with the template
            prepared = hotswap_apply.prepare(pool, self.destination, deployment, self.log)
            try:
                swap = self._swap(deployment)
            except hotswap.NotHotswappable as e:
                self.log(f"{name}: not hotswappable: {e}")
                return False
            self.log(f"{name}: hotswapping ({'; '.join(swap.lines())})")
            hotswap_apply.apply(
                self.destination,
                deployment,
                current,
                swap,
                self.log,
                poll_s=_poll_s(self.destination),
                marks_dir=self.swaps.marks_dir,
                prepared=prepared,
            )
        self.log(
            f"{name}: hotswapped version {deployment.version[:12]}; the stack still describes "
            f"{(current.version or 'none')[:12]} until a deploy without --jiti-hotswap"
        )
        return True

    def _swap(self, deployment: Deployment) -> hotswap.Swap:
        """What the hotswap changes; raises NotHotswappable saying why there is none."""
        new = json.loads(deployment.template_path.read_text())
        swap = hotswap.compare(hotswap.live_template(self.cfn, deployment.stack_name), new)
        if not swap:
            raise hotswap.NotHotswappable("no function code, environment or site differs")
        return swap

    def reconcile(self, deployment: Deployment, mark: dict) -> None:
        """After a deploy through CloudFormation of a stack this machine hotswapped."""
        hotswap_apply.reconcile(
            self.destination,
            deployment,
            mark,
            self.log,
            poll_s=_poll_s(self.destination),
            marks_dir=self.swaps.marks_dir,
        )

    def preview_here(self, deployment: Deployment, current, why: str) -> Result:
        """A dry run previewed locally is planned and gated like one CloudFormation answered."""
        preview = _preview_locally(self.cfn, deployment, current, self.log, why)
        self._planned(deployment, preview)
        return Result.DRY_RUN

    def _planned(self, deployment: Deployment, change_set: changes.ChangeSet) -> None:
        if self.change_sets is not None:
            self.change_sets.append(change_set)
        _check_the_gate(self.cfn, deployment, change_set, self.fail_on_replace)

    def change(self, deployment: Deployment, current) -> Result:
        """Stage assets and template, make the change set (gated), then execute and follow it."""
        name, cfn = deployment.stack_name, self.cfn
        acknowledged = capabilities.acknowledged(deployment)  # refused before any write
        bucket = AssetsBucket(self.destination)
        parameters = settings.parameters(deployment, bucket.name, self.destination)  # no write yet
        template_arg, versions = _stage(bucket, deployment, dry_run=self.dry_run, log=self.log)
        parameters.update(settings.asset_versions(deployment, versions))
        if template_arg is None:
            return self.preview_here(
                deployment,
                current,
                f"the template is over {TEMPLATE_BODY_LIMIT:,} bytes and not in the assets "
                "bucket yet (a dry run uploads nothing)",
            )
        change_set = changes.create(
            cfn,
            stack_name=name,
            kind="UPDATE" if current else "CREATE",
            template=template_arg,
            parameters=parameters,
            tags=settings.tags(deployment),
            capabilities=acknowledged,
            role_arn=deployment.plan.role_arn,
            options=settings.change_set_options(deployment, self.destination),
        )
        change_set = _hide_secrets(deployment, change_set)
        creating = change_set.kind == "CREATE"
        self.log(f"{name}: change set ({'new stack' if creating else 'update'})")
        changes.show(change_set, log=self.log)
        self._planned(deployment, change_set)
        if self.dry_run:
            changes.discard(cfn, change_set, name)
            self.log(f"{name}: dry run, nothing changed")
            return Result.DRY_RUN
        _recheck_before_execute(self.destination, deployment, change_set, self.force, self.log)
        if not creating:
            _apply_stack_policy(cfn, deployment, created=False)
        if change_set.id:  # executable, even with no resource changes (e.g. new outputs)
            after = _execute_and_follow(self.destination, deployment, change_set, self.log)
        else:
            after = _update_without_change_set(
                cfn,
                deployment,
                template_arg,
                parameters,
                self.log,
                stack_id=current.stack_id if current else change_set.stack_id,
                poll_s=_poll_s(self.destination),
            )
        _finish(self.destination, deployment, after, self.log, created=creating, into=self.outputs)
        return Result.DEPLOYED


def deploy(
    destination: Destination,
    deployment: Deployment,
    *,
    dry_run: bool = False,
    force: bool = False,
    log=print,
    current: live.LiveStack | None = NOT_LOOKED_UP,
    fail_on_replace: tuple[str, ...] = (),
    change_sets: list | None = None,
    stacks: live.LiveStacks | None = None,
    expected: expect_plan.Expected | None = None,
    outputs: dict | None = None,
    hotswap_options: hotswap.Options = hotswap.Options(),
) -> Result:
    """Deploy one stack; raises DeployError (Blocked when the replace gate stops it;
    expect_plan.Unplanned when it is not what the reviewed plan `expected` shows).

    `current` is the live stack when the caller already looked it up (batched), so an
    unchanged stack costs no call at all here. `fail_on_replace`: the resource types the
    gate guards (none: no gate). The change set made is added to `change_sets`, for reports.
    `stacks` reads the stacks of other deployments: the producers of this one's inputs, and the
    consumers of its outputs. `outputs` gets the stack's outputs once it is live (masked). `hotswap_options`: whether to hotswap, and
    this machine's marks.
    """
    interrupt.check(f"{deployment.stack_name}: interrupted before it started; nothing changed")
    if deployment.plan.stack_set:  # StackSets mode: one StackSet, many instances
        expect_plan.check(expected, deployment, None)  # a plan never reviews one
        return stack_sets.deploy(destination, deployment, dry_run=dry_run, force=force, log=log)
    if stacks is None and (deployment.plan.inputs or deployment.plan.consumers):
        raise ValueError(f"{deployment.address}: its inputs and consumers are read with `stacks`")
    run = _Run(
        destination,
        dry_run,
        force,
        fail_on_replace,
        change_sets,
        log,
        expected,
        outputs,
        hotswap_options,
    )
    for _ in range(MOVES):
        try:
            return _attempt(run, deployment, current, stacks)
        except _Moved as moved:
            log(f"{moved}: its change set is out of date; reading the stack again")
            if change_sets is not None and moved.change_set in change_sets:
                change_sets.remove(moved.change_set)
            current = NOT_LOOKED_UP
    raise DeployError(
        f"{deployment.stack_name} changed under this deploy {MOVES} times: deploy again once "
        "the other deploys of it are done"
    )


def _attempt(run: _Run, deployment: Deployment, current, stacks) -> Result:
    """Read the stack, decide, change it; raises _Moved when the stack changed meanwhile."""
    if run.expected is not None:  # before anything is read or written for it
        if current is NOT_LOOKED_UP:
            current = live.describe(run.cfn, deployment.stack_name)
        expect_plan.check(run.expected, deployment, current)
    deployment, current = run.read_live(deployment, current, stacks)
    mark = current and hotswap_marks.local(run.swaps.marks_dir, deployment, run.destination)
    if not mark and run.is_live(deployment, current):
        return _when_live(
            run.destination,
            deployment,
            current,
            dry_run=run.dry_run,
            log=run.log,
            into=run.outputs,
        )
    run.announce(deployment, current, stacks)
    if deployment.pending:
        why = "inputs are pending, so CloudFormation cannot make a change set"
        return run.preview_here(deployment, current, why)
    if run.swaps.enabled and not run.dry_run and run.hotswapped(deployment, current):
        return Result.HOTSWAPPED
    if mark and not run.swaps.enabled:
        run.log(f"{deployment.stack_name}: hotswapped earlier: deploying it through CloudFormation")
    if current and current.status in ("ROLLBACK_COMPLETE", "REVIEW_IN_PROGRESS"):
        poll_s = _poll_s(run.destination)
        if not _recreate_after_failed_create(
            run.cfn, deployment, current, dry_run=run.dry_run, log=run.log, poll_s=poll_s
        ):
            return Result.DRY_RUN
        current = None
    result = run.change(deployment, current)
    if mark and result is Result.DEPLOYED:
        run.reconcile(deployment, mark)
    return result
