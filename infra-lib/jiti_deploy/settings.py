"""What a deployment passes to CloudFormation besides the template: parameters and tags."""

from __future__ import annotations

from jiti_contract import (
    APP_TAG,
    ASSETS_BUCKET_PARAMETER,
    CONFIG_TAG,
    ENV_TAG,
    ENVIRONMENT_PARAMETER,
    VERSION_TAG,
)
from jiti_deploy.deployment import Deployment
from jiti_deploy.destinations import Destination
from jiti_deploy.errors import DeployError


def parameters(deployment: Deployment, bucket: str | None, destination: Destination) -> dict:
    declared = deployment.manifest.parameters
    unknown = sorted(set(deployment.plan.parameters) - set(declared))
    if unknown:
        raise DeployError(
            f"{deployment.address}: field `parameters`: {', '.join(unknown)} not declared by the "
            f"template (it declares: {', '.join(sorted(declared)) or 'none'})"
        )
    values = {
        k: deployment.expand(v, destination.account, destination.region)
        for k, v in deployment.plan.parameters.items()
    }
    if ENVIRONMENT_PARAMETER in declared:
        values[ENVIRONMENT_PARAMETER] = deployment.plan.environment
    if ASSETS_BUCKET_PARAMETER in declared and bucket:
        values[ASSETS_BUCKET_PARAMETER] = bucket
    return values


def tags(deployment: Deployment) -> dict:
    return {
        **deployment.manifest.tags,
        **deployment.plan.tags,
        VERSION_TAG: deployment.version,
        CONFIG_TAG: deployment.config_hash(),
        APP_TAG: deployment.plan.app,
        ENV_TAG: deployment.plan.environment,
    }
