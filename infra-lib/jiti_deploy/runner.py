"""One deployment, end to end, in named phases: skip if live, recreate after a failed create,
stage assets and template, change set, then execute and follow (or only record the version),
and finish (termination protection, site content, outputs)."""

from __future__ import annotations

import json

from botocore.exceptions import ClientError

from jiti_contract import VERSION_TAG
from jiti_deploy import assets, changes, events, live, settings, site_content, stack_sets
from jiti_deploy.deployment import Deployment
from jiti_deploy.destinations import Destination
from jiti_deploy.errors import DeployError
from jiti_deploy.report import Result

TEMPLATE_BODY_LIMIT = 51_200  # bytes; larger templates go through S3
WAIT = {"Delay": 1, "MaxAttempts": 900}
NOT_LOOKED_UP = object()


def _write_outputs(deployment: Deployment, outputs: dict, log=print) -> None:
    for key, value in sorted(outputs.items()):
        log(f"  {key} = {value}")
    if deployment.outputs_file:
        deployment.outputs_file.parent.mkdir(parents=True, exist_ok=True)
        deployment.outputs_file.write_text(json.dumps(outputs, indent=2, sort_keys=True) + "\n")


def _failure_message(deployment: Deployment, status: str, seen_events: list[dict]) -> str:
    failed = [e for e in seen_events if e["ResourceStatus"].endswith("_FAILED")]
    lines = [f"{deployment.stack_name}: deployment failed, stack is {status}"]
    lines += [
        f"  {e['LogicalResourceId']} ({e['ResourceType']}): {e.get('ResourceStatusReason', 'no reason given')}"
        for e in failed
    ]
    if status == "ROLLBACK_COMPLETE":
        lines.append(
            "  The stack was rolled back and holds nothing; fix the cause and deploy again (jiti deletes and recreates it)."
        )
    elif status == "UPDATE_ROLLBACK_COMPLETE":
        lines.append(
            "  The stack was rolled back to its previous version, which is still live; fix the cause and deploy again."
        )
    elif status == "UPDATE_ROLLBACK_FAILED":
        lines.append(
            f"  Fix the resources above, run `aws cloudformation continue-update-rollback --stack-name {deployment.stack_name}`, then deploy again."
        )
    return "\n".join(lines)


# --- phases -------------------------------------------------------------------------------


def _recreate_after_failed_create(
    cfn, deployment: Deployment, current: live.LiveStack, *, dry_run: bool, log
) -> bool:
    """A stack left by a failed create can only be deleted; returns False for a dry run,
    which stops here."""
    name = deployment.stack_name
    if dry_run:
        log(
            f"{name} is {current.status} from an earlier failed create; a deploy would delete and recreate it"
        )
        return False
    log(f"{name} is {current.status} from an earlier failed create: deleting it to create it again")
    cfn.delete_stack(StackName=name)
    cfn.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=WAIT)
    return True


def _stage(destination: Destination, deployment: Deployment, *, dry_run: bool, log) -> tuple:
    """Upload the assets the bucket lacks, and say how the change set gets the template.
    Returns the bucket name and the template argument."""
    bucket = assets.bucket_name(destination.account, destination.region)
    s3 = destination.client("s3")
    if not dry_run:  # a dry run writes nothing: the change set only needs the bucket's name
        destination.once(
            f"bucket {bucket}",
            lambda: assets.ensure_bucket(s3, bucket, destination.region, log=log),
        )
        assets.upload(destination, deployment, bucket, log=log)
    template_text = deployment.template_path.read_text()
    if len(template_text.encode()) <= TEMPLATE_BODY_LIMIT:
        return bucket, {"TemplateBody": template_text}
    key = f"templates/{deployment.manifest.template_sha256}.json"
    s3.put_object(Bucket=bucket, Key=key, Body=template_text.encode())
    return bucket, {"TemplateURL": f"https://{bucket}.s3.amazonaws.com/{key}"}


def _record_version_only(cfn, deployment: Deployment, parameters: dict, log) -> dict | None:
    """No resource changes: put the new version (and parameter values) on the stack.
    Returns its outputs, or None when the stack already carries them."""
    name, short = deployment.stack_name, deployment.version[:12]
    log(f"{name}: no resource changes; recording version {short}")
    try:
        # The same parameters as the change set: a new value that changes no resource is
        # still the stack's value from now on.
        cfn.update_stack(
            StackName=name,
            UsePreviousTemplate=True,
            Parameters=[
                {"ParameterKey": k, "ParameterValue": str(v)} for k, v in sorted(parameters.items())
            ],
            Tags=[
                {"Key": k, "Value": str(v)} for k, v in sorted(settings.tags(deployment).items())
            ],
            Capabilities=list(deployment.plan.capabilities),
        )
    except ClientError as e:
        # The stack already carries these tags (e.g. it rolled back to this very version).
        if not any(m in e.response["Error"].get("Message", "") for m in changes.NO_CHANGES):
            raise
        log(f"{name}: already at version {short}")
        return None
    cfn.get_waiter("stack_update_complete").wait(StackName=name, WaiterConfig=WAIT)
    return live.describe(cfn, name).outputs


def _execute_and_follow(
    destination: Destination, deployment: Deployment, change_set: changes.ChangeSet, log
) -> dict:
    """Execute the change set and stream its events; returns the stack's outputs."""
    cfn = destination.client("cloudformation")
    seen = events.existing_event_ids(cfn, change_set.stack_id)
    cfn.execute_change_set(ChangeSetName=change_set.id)
    stack, seen_events = events.follow(
        cfn, change_set.stack_id, seen, poll_s=0.2 if destination.local else 3.0, log=log
    )
    if stack["StackStatus"] not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        raise DeployError(_failure_message(deployment, stack["StackStatus"], seen_events))
    return live.LiveStack.from_description(stack).outputs


def _finish(destination: Destination, deployment: Deployment, outputs: dict, log) -> None:
    """What follows a stack update: protection, site content, the outputs."""
    cfn = destination.client("cloudformation")
    if deployment.plan.termination_protection:
        cfn.update_termination_protection(
            StackName=deployment.stack_name, EnableTerminationProtection=True
        )
    template = json.loads(deployment.template_path.read_text())
    site_content.publish(destination.client("s3"), deployment, template, outputs, log=log)
    log(f"{deployment.stack_name}: deployed version {deployment.version[:12]}")
    _write_outputs(deployment, outputs, log=log)


# --- the whole deployment -----------------------------------------------------------------


def deploy(
    destination: Destination,
    deployment: Deployment,
    *,
    dry_run: bool = False,
    log=print,
    current: live.LiveStack | None = NOT_LOOKED_UP,
) -> Result:
    """Deploy one stack; raises DeployError.

    `current` is the live stack when the caller already looked it up (batched), so an
    unchanged stack costs no call at all here.
    """
    if deployment.plan.stack_set:  # StackSets mode: one StackSet, many instances
        return stack_sets.deploy(destination, deployment, dry_run=dry_run, log=log)
    cfn = destination.client("cloudformation")
    name, short = deployment.stack_name, deployment.version[:12]
    if current is NOT_LOOKED_UP:
        current = live.describe(cfn, name)
    if current and current.is_current(deployment.version, deployment.config_hash()):
        log(f"{name}: up to date (version {short})")
        _write_outputs(deployment, current.outputs, log=lambda _: None)
        return Result.UP_TO_DATE
    if current:
        live.check_deployable(current)
    old = (current.tags.get(VERSION_TAG) or "none")[:12] if current else "none"
    log(f"{name}: {old} -> {short}{' (dry run)' if dry_run else ''}")

    if current and current.status in ("ROLLBACK_COMPLETE", "REVIEW_IN_PROGRESS"):
        if not _recreate_after_failed_create(cfn, deployment, current, dry_run=dry_run, log=log):
            return Result.DRY_RUN
        current = None

    bucket, template_arg = _stage(destination, deployment, dry_run=dry_run, log=log)
    parameters = settings.parameters(deployment, bucket, destination)
    change_set = changes.create(
        cfn,
        stack_name=name,
        kind="UPDATE" if current else "CREATE",
        template=template_arg,
        parameters=parameters,
        tags=settings.tags(deployment),
        capabilities=deployment.plan.capabilities,
        role_arn=deployment.plan.role_arn,
    )
    log(f"{name}: change set ({'new stack' if change_set.kind == 'CREATE' else 'update'})")
    changes.show(change_set, log=log)
    if dry_run:
        changes.discard(cfn, change_set, name)
        log(f"{name}: dry run, nothing changed")
        return Result.DRY_RUN
    if change_set.empty:
        outputs = _record_version_only(cfn, deployment, parameters, log)
        if outputs is None:
            return Result.UP_TO_DATE
    else:
        outputs = _execute_and_follow(destination, deployment, change_set, log)
    _finish(destination, deployment, outputs, log)
    return Result.DEPLOYED
