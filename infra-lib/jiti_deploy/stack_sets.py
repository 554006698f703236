"""StackSets mode, for large fan-out: one StackSet in the administrator account, one
instance per target account and region, rolled out by CloudFormation with operation
preferences. The skip rule is the same as for stacks, per instance: nothing is done when the
StackSet carries this version and settings and every wanted instance is CURRENT. So are the
guards: only this deployment's StackSet is touched, an older commit never replaces a newer one,
and an operation waits for another one on the StackSet to end. Only what differs per instance
(its region's assets bucket) is overridden, so every other value follows the StackSet."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from botocore.exceptions import ClientError

from jiti_contract import ASSETS_BUCKET_PARAMETER, CONFIG_OUTPUT, VERSION_OUTPUT
from jiti_deploy import capabilities, config_key, interrupt, live, record, settings
from jiti_deploy.assets import AssetsBucket
from jiti_deploy.deployment import Deployment
from jiti_deploy.destinations import Destination
from jiti_deploy.errors import DeployError
from jiti_deploy.report import Result

TERMINAL = {"SUCCEEDED", "FAILED", "STOPPED"}
BUSY_WAIT_S = 900  # how long to wait for another operation on the StackSet (as runner.BUSY_WAIT_S)


def _describe(cfn, name: str) -> dict | None:
    try:
        return cfn.describe_stack_set(StackSetName=name)["StackSet"]
    except ClientError as e:
        if e.response["Error"]["Code"] in ("StackSetNotFoundException", "StackSetNotFound"):
            return None
        raise


def _instances(cfn, name: str) -> dict[tuple[str, str], dict]:
    found = {}
    for page in cfn.get_paginator("list_stack_instances").paginate(StackSetName=name):
        for summary in page["Summaries"]:
            found[(summary["Account"], summary["Region"])] = summary
    return found


def _wait(cfn, name: str, operation_id: str, poll_s: float) -> None:
    while True:
        operation = cfn.describe_stack_set_operation(StackSetName=name, OperationId=operation_id)[
            "StackSetOperation"
        ]
        if operation["Status"] in TERMINAL:
            if operation["Status"] != "SUCCEEDED":
                reason = operation.get("StatusReason", "")
                raise DeployError(
                    f"StackSet {name}: operation {operation['Action']} ended {operation['Status']} {reason}".strip()
                )
            return
        if interrupt.sleep(poll_s):
            raise interrupt.Interrupted(
                f"StackSet {name}: interrupted while {operation['Action']} runs; it carries on "
                "in CloudFormation"
            )


def _preferences(deployment: Deployment) -> dict:
    stack_set = deployment.plan.stack_set
    return {
        "MaxConcurrentPercentage": stack_set.max_concurrent_percentage,
        "FailureTolerancePercentage": stack_set.failure_tolerance_percentage,
        "RegionConcurrencyType": "PARALLEL",
        # As many accounts at once as the field says: with STRICT_FAILURE_TOLERANCE (the
        # default), CloudFormation deploys to at most failure tolerance + 1 accounts at once.
        "ConcurrencyMode": "SOFT_FAILURE_TOLERANCE",
    }


def _parameter_list(values: dict) -> list[dict]:
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(values.items())]


def _overrides(parameters: dict, buckets: dict[str, str], region: str) -> dict:
    """What must differ per instance, so is overridden: its region's assets bucket, when the
    template declares it. Every other value is the StackSet's own, since UpdateStackSet leaves
    the values an instance overrides as they are."""
    return (
        {ASSETS_BUCKET_PARAMETER: buckets[region]} if ASSETS_BUCKET_PARAMETER in parameters else {}
    )


def _tags(described: dict) -> dict:
    return {t["Key"]: t["Value"] for t in described.get("Tags", [])}


def _as_stack(current: "_LiveStackSet") -> live.LiveStack:
    """The StackSet as the guards of plain stacks read a stack: who owns it (its tags), and
    the commit it was deployed from (the record outputs of its template)."""
    described = current.described or {}
    return live.LiveStack(
        name=described["StackSetName"],
        status=described.get("Status", "ACTIVE"),
        tags=_tags(described),
        outputs={},
        record=current.recorded,
    )


def _check_owner(current: "_LiveStackSet", deployment: Deployment) -> None:
    plan = deployment.plan
    live.check_owner(_as_stack(current), deployment.address, plan.app, plan.environment)


def _check_not_newer(current: "_LiveStackSet", deployment: Deployment, force: bool) -> None:
    if not force:
        live.check_not_newer(_as_stack(current), deployment.source, deployment.stack_name)


@dataclass(frozen=True)
class _LiveStackSet:
    """The StackSet as it is now, and which wanted instances are not CURRENT."""

    described: dict | None
    recorded: dict  # the record outputs of its template (see record.py)
    instances: dict
    missing: list

    @property
    def exists(self) -> bool:
        return self.described is not None

    @property
    def tags(self) -> dict:
        return _tags(self.described or {})

    def is_current(self, deployment: Deployment) -> bool:
        return (
            self.exists
            and not self.missing
            and self.recorded.get(VERSION_OUTPUT) == deployment.version
            and self.recorded.get(CONFIG_OUTPUT) == deployment.config_hash()
        )


def _wanted(deployment: Deployment) -> set[tuple[str, str]]:
    stack_set = deployment.plan.stack_set
    return {(a, r) for a in stack_set.accounts for r in stack_set.regions}


def _read_live(cfn, deployment: Deployment) -> _LiveStackSet:
    existing = _describe(cfn, deployment.stack_name)
    instances = _instances(cfn, deployment.stack_name) if existing else {}
    return _LiveStackSet(
        described=existing,
        recorded=record.from_template((existing or {}).get("TemplateBody")),
        instances=instances,
        missing=sorted(
            w for w in _wanted(deployment) if instances.get(w, {}).get("Status") != "CURRENT"
        ),
    )


def _stage_assets(destination: Destination, deployment: Deployment, log) -> dict[str, str]:
    """Lambda reads its code from a bucket in its own region: one assets bucket per region,
    readable by the instances' accounts. Returns the bucket of each region."""
    buckets = {}
    for region in deployment.plan.stack_set.regions:
        bucket = AssetsBucket(destination.in_region(region))
        bucket.ensure(log=log)
        bucket.allow_reads(deployment.plan.stack_set.accounts)
        bucket.upload(deployment, log=log)
        buckets[region] = bucket.name
    return buckets


@dataclass(frozen=True)
class _Operations:
    """The StackSet's operations, one at a time, each followed to its end."""

    cfn: Any
    deployment: Deployment
    force: bool
    poll_s: float
    log: Callable[[str], None]

    def run(self, call: str, **kwargs) -> None:
        """Start an operation (`call`, e.g. "update_stack_set") and wait for its end. While
        another one runs (OperationInProgressException), wait up to BUSY_WAIT_S, saying so,
        then check the StackSet again (the other one may have deployed a newer commit)."""
        name, deadline = self.deployment.stack_name, None
        while True:
            try:
                operation_id = getattr(self.cfn, call)(**kwargs)["OperationId"]
                break
            except ClientError as e:
                if e.response["Error"]["Code"] != "OperationInProgressException":
                    raise
            minutes = BUSY_WAIT_S // 60
            if deadline is None:
                deadline = time.monotonic() + BUSY_WAIT_S
                self.log(
                    f"StackSet {name}: another operation runs on it; waiting up to {minutes} minutes"
                )
            if time.monotonic() >= deadline:
                raise DeployError(
                    f"StackSet {name}: another operation still runs on it after {minutes} "
                    "minutes: wait for it to finish, then deploy again"
                )
            if interrupt.sleep(self.poll_s):
                raise interrupt.Interrupted(
                    f"StackSet {name}: interrupted while waiting for another operation on it"
                )
            self._check_again()
        _wait(self.cfn, name, operation_id, self.poll_s)

    def _check_again(self) -> None:
        described = _describe(self.cfn, self.deployment.stack_name)
        if described:
            again = _LiveStackSet(
                described, record.from_template(described.get("TemplateBody")), {}, []
            )
            _check_owner(again, self.deployment)
            _check_not_newer(again, self.deployment, self.force)


def _create_or_update(
    destination: Destination, ops: _Operations, current: _LiveStackSet, parameters: dict
) -> None:
    """The StackSet at this version; an update reaches every instance (with its overrides)."""
    deployment = ops.deployment
    name = deployment.stack_name
    # A large template goes through the administrator region's assets bucket.
    common = {
        "StackSetName": name,
        **AssetsBucket(destination).template_argument(deployment, dry_run=False),
        "Parameters": _parameter_list(parameters),
        "Tags": [{"Key": k, "Value": str(v)} for k, v in sorted(settings.tags(deployment).items())],
        "Capabilities": list(capabilities.acknowledged(deployment)),
    }
    if current.exists:
        ops.run("update_stack_set", **common, OperationPreferences=_preferences(deployment))
        ops.log(f"StackSet {name}: updated to {deployment.version[:12]}")
    else:
        ops.cfn.create_stack_set(**common, PermissionModel="SELF_MANAGED")
        ops.log(f"StackSet {name}: created")


def _reset_overrides(
    ops: _Operations, current: _LiveStackSet, parameters: dict, buckets: dict[str, str]
) -> None:
    """Instances whose overrides are not `_overrides` (earlier versions of jiti overrode every
    value) take the StackSet's values again, their own bucket excepted (UpdateStackInstances)."""
    name, stale = ops.deployment.stack_name, {}
    for account, region in sorted(k for k in current.instances if k in _wanted(ops.deployment)):
        instance = ops.cfn.describe_stack_instance(
            StackSetName=name, StackInstanceAccount=account, StackInstanceRegion=region
        )["StackInstance"]
        overrides = {
            p["ParameterKey"]: p.get("ParameterValue")
            for p in instance.get("ParameterOverrides", [])
        }
        if overrides != _overrides(parameters, buckets, region):
            stale.setdefault(region, []).append(account)
    for region, accounts in sorted(stale.items()):
        ops.run(
            "update_stack_instances",
            StackSetName=name,
            Accounts=accounts,
            Regions=[region],
            ParameterOverrides=_parameter_list(_overrides(parameters, buckets, region)),
            OperationPreferences=_preferences(ops.deployment),
        )
        ops.log(f"StackSet {name}: {', '.join(accounts)} / {region} take the StackSet's values")


def _add_instances(
    ops: _Operations, current: _LiveStackSet, parameters: dict, buckets: dict[str, str]
) -> None:
    """Create the missing instances, one operation per region (each with its own bucket)."""
    name = ops.deployment.stack_name
    to_create = [w for w in current.missing if w not in current.instances]
    for region in sorted({r for _, r in to_create}):
        region_accounts = sorted(a for a, r in to_create if r == region)
        overrides = _overrides(parameters, buckets, region)
        ops.run(
            "create_stack_instances",
            StackSetName=name,
            Accounts=region_accounts,
            Regions=[region],
            **({"ParameterOverrides": _parameter_list(overrides)} if overrides else {}),
            OperationPreferences=_preferences(ops.deployment),
        )
        ops.log(f"StackSet {name}: added instances in {', '.join(region_accounts)} / {region}")


def _check_instances(cfn, deployment: Deployment, wanted: set) -> None:
    failed = {
        k: v
        for k, v in _instances(cfn, deployment.stack_name).items()
        if k in wanted and v.get("Status") != "CURRENT"
    }
    if failed:
        lines = [
            f"  {a}/{r}: {v.get('Status')} {v.get('StatusReason', '')}".rstrip()
            for (a, r), v in sorted(failed.items())
        ]
        raise DeployError(
            f"StackSet {deployment.stack_name}: {len(failed)} instance(s) did not deploy:\n"
            + "\n".join(lines)
        )


def _roll_out(
    destination: Destination, deployment: Deployment, current: _LiveStackSet, force: bool, log
) -> None:
    """Stage the assets, then create or update the StackSet, and bring every wanted instance
    to it with only the overrides it needs."""
    cfn = destination.client("cloudformation")
    buckets = _stage_assets(destination, deployment, log)
    first_region = deployment.plan.stack_set.regions[0]
    parameters = settings.parameters(deployment, buckets[first_region], destination)
    ops = _Operations(cfn, deployment, force, 0.2 if destination.local else 5.0, log)
    _create_or_update(destination, ops, current, parameters)
    _reset_overrides(ops, current, parameters, buckets)
    _add_instances(ops, current, parameters, buckets)
    _check_instances(cfn, deployment, _wanted(deployment))


def deploy(
    destination: Destination,
    deployment: Deployment,
    *,
    dry_run: bool = False,
    force: bool = False,
    log=print,
) -> Result:
    """Deploy the StackSet and its instances, with the guards of plain stacks: only this
    deployment's StackSet is touched, and an older commit never replaces a newer one."""
    cfn = destination.client("cloudformation")
    name, short = deployment.stack_name, deployment.version[:12]
    wanted = _wanted(deployment)
    current = _read_live(cfn, deployment)
    if current.described:
        _check_owner(current, deployment)
    deployment = config_key.keyed(deployment, destination, dry_run=dry_run)
    if current.is_current(deployment) and not force:
        for account, region in sorted(wanted):
            log(f"{name} {account}/{region}: up to date (version {short})")
        return Result.UP_TO_DATE
    if current.described:
        _check_not_newer(current, deployment, force)
    old = (current.recorded.get(VERSION_OUTPUT) or "none")[:12]
    log(
        f"StackSet {name}: {old} -> {short}, {len(wanted)} instances ({len(current.missing)} to add or fix)"
    )
    if dry_run:
        log(f"StackSet {name}: dry run, nothing changed")
        return Result.DRY_RUN
    capabilities.acknowledged(deployment)  # refused before any write
    _roll_out(destination, deployment, current, force, log)
    log(f"StackSet {name}: deployed version {short} to {len(wanted)} instances")
    return Result.DEPLOYED


def delete(destination: Destination, name: str, *, log=print) -> int:
    """Delete a StackSet: its instances first (their stacks with them), then the StackSet;
    returns how many instances there were."""
    cfn = destination.client("cloudformation")
    instances = _instances(cfn, name)
    if instances:
        log(f"StackSet {name}: deleting {len(instances)} instances")
        operation = cfn.delete_stack_instances(
            StackSetName=name,
            Accounts=sorted({a for a, _ in instances}),
            Regions=sorted({r for _, r in instances}),
            RetainStacks=False,
        )
        _wait(cfn, name, operation["OperationId"], 0.2 if destination.local else 5.0)
    cfn.delete_stack_set(StackSetName=name)
    log(f"StackSet {name}: deleted")
    return len(instances)
