"""What a deployment passes to CloudFormation besides the template: parameters and tags."""

from __future__ import annotations

from jiti_contract import (
    APP_TAG,
    ASSETS_BUCKET_PARAMETER,
    COMMIT_TAG,
    COMMIT_TIME_TAG,
    CONFIG_TAG,
    DEPLOYMENT_TAG,
    ENV_TAG,
    ENVIRONMENT_PARAMETER,
    SALT_TAG,
    VERSION_TAG,
    check_parameters,
    deployment_tag,
)
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


def tags(deployment: Deployment) -> dict:
    source = deployment.source
    return {
        **deployment.manifest.tags,
        **deployment.plan.tags,
        VERSION_TAG: deployment.version,
        CONFIG_TAG: deployment.config_hash(),
        APP_TAG: deployment.plan.app,
        ENV_TAG: deployment.plan.environment,
        DEPLOYMENT_TAG: deployment_tag(deployment.address),
        **({COMMIT_TAG: source.commit, COMMIT_TIME_TAG: str(source.time)} if source else {}),
        **({SALT_TAG: deployment.salt} if deployment.salt else {}),
    }
