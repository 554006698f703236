"""What a deployment passes to CloudFormation besides the template: parameters, tags, rollback
triggers and notifications."""

from __future__ import annotations

from jiti_contract import (
    APP_TAG,
    ASSETS_BUCKET_PARAMETER,
    DEPLOYMENT_TAG,
    ENV_TAG,
    ENVIRONMENT_PARAMETER,
    REPOSITORY_TAG,
    asset_version_parameter,
    check_parameters,
    depends_on_tags,
    deployment_tag,
)
from jiti_deploy import masking, preview
from jiti_deploy.deployment import Deployment
from jiti_deploy.destinations import Destination
from jiti_deploy.errors import DeployError


def parameters(deployment: Deployment, bucket: str | None, destination: Destination) -> dict:
    """The values CloudFormation gets (the BUILD file's, placeholders filled, and the inputs'),
    checked against the template."""
    declared = deployment.manifest.parameters
    values = {
        k: deployment.expand(v, destination.account, destination.region)
        for k, v in deployment.plan.parameters.items()
    }
    values.update(deployment.inputs)
    masking.add(v for name, v in values.items() if name in deployment.no_echo)
    problems = check_parameters(
        declared,
        values,
        supplied={ENVIRONMENT_PARAMETER, ASSETS_BUCKET_PARAMETER, *deployment.pending},
    )
    if problems:
        fields = "fields `parameters` and `inputs`" if deployment.inputs else "field `parameters`"
        raise DeployError(f"{deployment.address}: {fields}: {'; '.join(problems)}")
    if ENVIRONMENT_PARAMETER in declared:
        values[ENVIRONMENT_PARAMETER] = deployment.plan.environment
    if ASSETS_BUCKET_PARAMETER in declared and bucket:
        values[ASSETS_BUCKET_PARAMETER] = bucket
    return values


def asset_versions(deployment: Deployment, versions: dict[str, str]) -> dict:
    """The S3 version of each asset the template pins (`asset_version_parameter`), by
    parameter; `versions` gives them by key. A template that does not declare one reads the
    newest version."""
    declared = deployment.manifest.parameters
    return {
        asset_version_parameter(a.sha256): versions[a.key]
        for a in deployment.manifest.assets
        if asset_version_parameter(a.sha256) in declared and a.key in versions
    }


def tags(deployment: Deployment) -> dict:
    """The stack's tags: the user's and jiti's ownership tags, the same from deploy to deploy
    (CloudFormation puts them on every taggable resource; what changes is in `record`)."""
    return {
        **deployment.manifest.tags,
        **deployment.plan.tags,
        APP_TAG: deployment.plan.app,
        ENV_TAG: deployment.plan.environment,
        DEPLOYMENT_TAG: deployment_tag(deployment.address),
        **depends_on_tags(deployment.plan.depends_on),
        **({REPOSITORY_TAG: deployment.plan.repository} if deployment.plan.repository else {}),
        **preview.tags(deployment.plan, deployment.expires),
    }


def alarm_arn(alarm: str, destination: Destination) -> str:
    """A rollback alarm as CloudFormation takes it: an ARN, or a name in the stack's account
    and region."""
    if alarm.startswith("arn:"):
        return alarm
    partition = destination.session.get_partition_for_region(destination.region)
    return f"arn:{partition}:cloudwatch:{destination.region}:{destination.account}:alarm:{alarm}"


def change_set_options(deployment: Deployment, destination: Destination) -> dict:
    """Rollback triggers and notification topics, as CreateChangeSet arguments (none when the
    deployment sets none)."""
    plan, options = deployment.plan, {}
    if plan.rollback_alarms:
        options["RollbackConfiguration"] = {
            "RollbackTriggers": [
                {"Arn": alarm_arn(a, destination), "Type": "AWS::CloudWatch::Alarm"}
                for a in plan.rollback_alarms
            ],
            "MonitoringTimeInMinutes": plan.rollback_monitoring_minutes,
        }
    if plan.notification_arns:
        options["NotificationARNs"] = list(plan.notification_arns)
    return options
