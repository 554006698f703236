"""One deployment, end to end: skip if live, upload assets, change set, execute, report."""

from __future__ import annotations

import json

from botocore.exceptions import ClientError

from jiti_infra.deploy import assets, changes, events, live, settings, site_content, stack_sets
from jiti_infra.deploy.errors import DeployError
from jiti_infra.deploy.plan import Deployment
from jiti_infra.deploy.target import AwsTarget

TEMPLATE_BODY_LIMIT = 51_200  # bytes; larger templates go through S3


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


NOT_LOOKED_UP = object()


def deploy(
    target: AwsTarget,
    deployment: Deployment,
    *,
    dry_run: bool = False,
    log=print,
    current: live.LiveStack | None = NOT_LOOKED_UP,
) -> str:
    """Deploy one stack; returns `deployed`, `up to date` or `dry run`; raises DeployError.

    `current` is the live stack when the caller already looked it up (batched), so an
    unchanged stack costs no call at all here.
    """
    if deployment.stack_set:  # StackSets mode: one StackSet, many instances
        return stack_sets.deploy(target, deployment, dry_run=dry_run, log=log)
    cfn = target.client("cloudformation")
    name, short = deployment.stack_name, deployment.version[:12]
    if current is NOT_LOOKED_UP:
        current = live.describe(cfn, name)
    if current and current.is_current(deployment.version, deployment.config_hash()):
        log(f"{name}: up to date (version {short})")
        _write_outputs(deployment, current.outputs, log=lambda _: None)
        return "up to date"
    if current:
        live.check_deployable(current)
    old = (current.tags.get(live.VERSION_TAG) or "none")[:12] if current else "none"
    log(f"{name}: {old} -> {short}{' (dry run)' if dry_run else ''}")

    if current and current.status in ("ROLLBACK_COMPLETE", "REVIEW_IN_PROGRESS"):
        if dry_run:
            log(
                f"{name} is {current.status} from an earlier failed create; a deploy would delete and recreate it"
            )
            return "dry run"
        log(
            f"{name} is {current.status} from an earlier failed create: deleting it to create it again"
        )
        cfn.delete_stack(StackName=name)
        cfn.get_waiter("stack_delete_complete").wait(
            StackName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 900}
        )
        current = None

    bucket = assets.bucket_name(target.account, target.region)
    s3 = target.client("s3")
    if not dry_run:  # a dry run writes nothing: the change set only needs the bucket's name
        target.once(
            f"bucket {bucket}", lambda: assets.ensure_bucket(s3, bucket, target.region, log=log)
        )
        assets.upload(target, deployment, bucket, log=log)

    template_text = deployment.template_path.read_text()
    if len(template_text.encode()) <= TEMPLATE_BODY_LIMIT:
        template_arg = {"TemplateBody": template_text}
    else:
        key = f"templates/{deployment.manifest['template_sha256']}.json"
        s3.put_object(Bucket=bucket, Key=key, Body=template_text.encode())
        template_arg = {"TemplateURL": f"https://{bucket}.s3.amazonaws.com/{key}"}

    parameters = settings.parameters(deployment, bucket, target)
    change_set = changes.create(
        cfn,
        stack_name=name,
        kind="UPDATE" if current else "CREATE",
        template=template_arg,
        parameters=parameters,
        tags=settings.tags(deployment),
        capabilities=deployment.capabilities,
        role_arn=deployment.role_arn,
    )
    log(f"{name}: change set ({'new stack' if change_set.kind == 'CREATE' else 'update'})")
    changes.show(change_set, log=log)
    if dry_run:
        changes.discard(cfn, change_set, name)
        log(f"{name}: dry run, nothing changed")
        return "dry run"
    if change_set.empty:
        log(f"{name}: no resource changes; recording version {short}")
        try:
            # The same parameters as the change set: a new value that changes no resource is
            # still the stack's value from now on.
            cfn.update_stack(
                StackName=name,
                UsePreviousTemplate=True,
                Parameters=[
                    {"ParameterKey": k, "ParameterValue": str(v)}
                    for k, v in sorted(parameters.items())
                ],
                Tags=[
                    {"Key": k, "Value": str(v)}
                    for k, v in sorted(settings.tags(deployment).items())
                ],
                Capabilities=list(deployment.capabilities),
            )
        except ClientError as e:
            # The stack already carries these tags (e.g. it rolled back to this very version).
            if not any(m in e.response["Error"].get("Message", "") for m in changes.NO_CHANGES):
                raise
            log(f"{name}: already at version {short}")
            return "up to date"
        cfn.get_waiter("stack_update_complete").wait(
            StackName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 900}
        )
        outputs = live.describe(cfn, name).outputs
    else:
        seen = events.existing_event_ids(cfn, change_set.stack_id)
        cfn.execute_change_set(ChangeSetName=change_set.id)
        stack, seen_events = events.follow(
            cfn, change_set.stack_id, seen, poll_s=0.2 if target.local else 3.0, log=log
        )
        if stack["StackStatus"] not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
            raise DeployError(_failure_message(deployment, stack["StackStatus"], seen_events))
        outputs = live.LiveStack.from_description(stack).outputs
    if deployment.termination_protection:
        cfn.update_termination_protection(StackName=name, EnableTerminationProtection=True)

    site_content.publish(s3, deployment, json.loads(template_text), outputs, log=log)
    log(f"{name}: deployed version {short}")
    _write_outputs(deployment, outputs, log=log)
    return "deployed"
