"""StackSets mode, for large fan-out: one StackSet in the administrator account, one
instance per target account and region, rolled out by CloudFormation with operation
preferences. The skip rule is the same as for stacks, per instance: nothing is done when the
StackSet carries this version and settings and every wanted instance is CURRENT."""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import ClientError

from jiti_contract import ASSETS_BUCKET_PARAMETER, CONFIG_OUTPUT, VERSION_OUTPUT
from jiti_deploy import config_key, interrupt, record, settings
from jiti_deploy.assets import AssetsBucket
from jiti_deploy.deployment import Deployment
from jiti_deploy.destinations import Destination
from jiti_deploy.errors import DeployError
from jiti_deploy.report import Result

TERMINAL = {"SUCCEEDED", "FAILED", "STOPPED"}


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
    }


def _parameter_list(values: dict) -> list[dict]:
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(values.items())]


@dataclass(frozen=True)
class _LiveStackSet:
    """The StackSet as it is now, and which wanted instances are not CURRENT."""

    exists: bool
    recorded: dict  # the record outputs of its template (see record.py)
    instances: dict
    missing: list

    def is_current(self, deployment: Deployment) -> bool:
        return (
            self.exists
            and not self.missing
            and self.recorded.get(VERSION_OUTPUT) == deployment.version
            and self.recorded.get(CONFIG_OUTPUT) == deployment.config_hash()
        )


def _read_live(cfn, deployment: Deployment, wanted: set) -> _LiveStackSet:
    existing = _describe(cfn, deployment.stack_name)
    instances = _instances(cfn, deployment.stack_name) if existing else {}
    return _LiveStackSet(
        exists=bool(existing),
        recorded=record.from_template((existing or {}).get("TemplateBody")),
        instances=instances,
        missing=sorted(w for w in wanted if instances.get(w, {}).get("Status") != "CURRENT"),
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


def _create_or_update(
    destination: Destination,
    deployment: Deployment,
    live: _LiveStackSet,
    parameters: dict,
    poll_s: float,
    log,
) -> None:
    cfn, name = destination.client("cloudformation"), deployment.stack_name
    # A large template goes through the administrator region's assets bucket.
    common = {
        "StackSetName": name,
        **AssetsBucket(destination).template_argument(deployment, dry_run=False),
        "Parameters": _parameter_list(parameters),
        "Tags": [{"Key": k, "Value": str(v)} for k, v in sorted(settings.tags(deployment).items())],
        "Capabilities": list(deployment.plan.capabilities),
    }
    if live.exists:
        operation = cfn.update_stack_set(**common, OperationPreferences=_preferences(deployment))
        _wait(cfn, name, operation["OperationId"], poll_s)
        log(f"StackSet {name}: updated to {deployment.version[:12]}")
    else:
        cfn.create_stack_set(**common, PermissionModel="SELF_MANAGED")
        log(f"StackSet {name}: created")


def _add_instances(
    cfn,
    deployment: Deployment,
    live: _LiveStackSet,
    parameters: dict,
    buckets: dict[str, str],
    poll_s: float,
    log,
) -> None:
    """Create the missing instances, one operation per region (each with its own bucket)."""
    name = deployment.stack_name
    to_create = [w for w in live.missing if w not in live.instances]
    for region in sorted({r for _, r in to_create}):
        region_accounts = sorted(a for a, r in to_create if r == region)
        overrides = (
            {**parameters, ASSETS_BUCKET_PARAMETER: buckets[region]}
            if ASSETS_BUCKET_PARAMETER in parameters
            else {}
        )
        operation = cfn.create_stack_instances(
            StackSetName=name,
            Accounts=region_accounts,
            Regions=[region],
            ParameterOverrides=_parameter_list(overrides),
            OperationPreferences=_preferences(deployment),
        )
        _wait(cfn, name, operation["OperationId"], poll_s)
        log(f"StackSet {name}: added instances in {', '.join(region_accounts)} / {region}")


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


def deploy(
    destination: Destination,
    deployment: Deployment,
    *,
    dry_run: bool = False,
    force: bool = False,
    log=print,
) -> Result:
    cfn = destination.client("cloudformation")
    name, short = deployment.stack_name, deployment.version[:12]
    stack_set = deployment.plan.stack_set
    wanted = {(a, r) for a in stack_set.accounts for r in stack_set.regions}
    live = _read_live(cfn, deployment, wanted)
    deployment = config_key.keyed(deployment, destination, dry_run=dry_run)
    if live.is_current(deployment) and not force:
        for account, region in sorted(wanted):
            log(f"{name} {account}/{region}: up to date (version {short})")
        return Result.UP_TO_DATE
    old = (live.recorded.get(VERSION_OUTPUT) or "none")[:12]
    log(
        f"StackSet {name}: {old} -> {short}, {len(wanted)} instances ({len(live.missing)} to add or fix)"
    )
    if dry_run:
        log(f"StackSet {name}: dry run, nothing changed")
        return Result.DRY_RUN

    buckets = _stage_assets(destination, deployment, log)
    parameters = settings.parameters(deployment, buckets[stack_set.regions[0]], destination)
    poll_s = 0.2 if destination.local else 5.0
    _create_or_update(destination, deployment, live, parameters, poll_s, log)
    _add_instances(cfn, deployment, live, parameters, buckets, poll_s, log)
    _check_instances(cfn, deployment, wanted)
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
