"""StackSets mode, for large fan-out: one StackSet in the administrator account, one
instance per target account and region, rolled out by CloudFormation with operation
preferences. The skip rule is the same as for stacks, per instance: nothing is done when the
StackSet carries this version and settings and every wanted instance is CURRENT."""

from __future__ import annotations

import time

from botocore.exceptions import ClientError

from jiti_infra.deploy import assets, live, settings
from jiti_infra.deploy.errors import DeployError
from jiti_infra.deploy.plan import Deployment
from jiti_infra.deploy.target import AwsTarget

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
        time.sleep(poll_s)


def _preferences(deployment: Deployment) -> dict:
    return {
        "MaxConcurrentPercentage": deployment.stack_set["max_concurrent_percentage"],
        "FailureTolerancePercentage": deployment.stack_set["failure_tolerance_percentage"],
        "RegionConcurrencyType": "PARALLEL",
    }


def deploy(target: AwsTarget, deployment: Deployment, *, dry_run: bool = False, log=print) -> str:
    cfn = target.client("cloudformation")
    name = deployment.stack_name
    accounts, regions = deployment.stack_set["accounts"], deployment.stack_set["regions"]
    wanted = {(a, r) for a in accounts for r in regions}
    short = deployment.version[:12]
    existing = _describe(cfn, name)
    instances = _instances(cfn, name) if existing else {}
    tags = {t["Key"]: t["Value"] for t in (existing or {}).get("Tags", [])}
    current = (
        existing
        and tags.get(live.VERSION_TAG) == deployment.version
        and tags.get(live.CONFIG_TAG) == deployment.config_hash()
    )
    missing = sorted(w for w in wanted if instances.get(w, {}).get("Status") != "CURRENT")
    if current and not missing:
        for account, region in sorted(wanted):
            log(f"{name} {account}/{region}: up to date (version {short})")
        return "up to date"
    log(
        f"StackSet {name}: {(tags.get(live.VERSION_TAG) or 'none')[:12]} -> {short}, {len(wanted)} instances ({len(missing)} to add or fix)"
    )
    if dry_run:
        log(f"StackSet {name}: dry run, nothing changed")
        return "dry run"

    # Lambda reads its code from a bucket in its own region: one assets bucket per region.
    s3_by_region = {}
    for region in regions:
        regional = target.in_region(region)
        bucket = assets.bucket_name(target.account, region)
        assets.ensure_bucket(regional.client("s3"), bucket, region, log=log)
        assets.allow_reads(regional.client("s3"), bucket, accounts)
        assets.upload(regional, deployment, bucket, log=log)
        s3_by_region[region] = bucket

    template = deployment.template_path.read_text()
    parameters = settings.parameters(deployment, s3_by_region[regions[0]], target)
    common = {
        "StackSetName": name,
        "TemplateBody": template,
        "Parameters": [
            {"ParameterKey": k, "ParameterValue": v} for k, v in sorted(parameters.items())
        ],
        "Tags": [{"Key": k, "Value": str(v)} for k, v in sorted(settings.tags(deployment).items())],
        "Capabilities": list(deployment.capabilities),
    }
    poll_s = 0.2 if target.local else 5.0
    if existing:
        operation = cfn.update_stack_set(**common, OperationPreferences=_preferences(deployment))
        _wait(cfn, name, operation["OperationId"], poll_s)
        log(f"StackSet {name}: updated to {short}")
    else:
        cfn.create_stack_set(**common, PermissionModel="SELF_MANAGED")
        log(f"StackSet {name}: created")
    to_create = [w for w in missing if w not in instances]
    for region in sorted({r for _, r in to_create}):
        region_accounts = sorted(a for a, r in to_create if r == region)
        overrides = (
            {**parameters, "AssetsBucket": s3_by_region[region]}
            if "AssetsBucket" in parameters
            else {}
        )
        operation = cfn.create_stack_instances(
            StackSetName=name,
            Accounts=region_accounts,
            Regions=[region],
            ParameterOverrides=[
                {"ParameterKey": k, "ParameterValue": v} for k, v in sorted(overrides.items())
            ],
            OperationPreferences=_preferences(deployment),
        )
        _wait(cfn, name, operation["OperationId"], poll_s)
        log(f"StackSet {name}: added instances in {', '.join(region_accounts)} / {region}")
    failed = {
        k: v
        for k, v in _instances(cfn, name).items()
        if k in wanted and v.get("Status") != "CURRENT"
    }
    if failed:
        lines = [
            f"  {a}/{r}: {v.get('Status')} {v.get('StatusReason', '')}".rstrip()
            for (a, r), v in sorted(failed.items())
        ]
        raise DeployError(
            f"StackSet {name}: {len(failed)} instance(s) did not deploy:\n" + "\n".join(lines)
        )
    log(f"StackSet {name}: deployed version {short} to {len(wanted)} instances")
    return "deployed"
