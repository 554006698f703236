"""What a deployment passes to CloudFormation besides the template: parameters and tags."""

from __future__ import annotations

from jiti_infra.deploy import live
from jiti_infra.deploy.errors import DeployError
from jiti_infra.deploy.plan import Deployment
from jiti_infra.deploy.target import AwsTarget


def parameters(deployment: Deployment, bucket: str | None, target: AwsTarget) -> dict:
    declared = deployment.manifest.get("parameters", {})
    unknown = sorted(set(deployment.parameters) - set(declared))
    if unknown:
        raise DeployError(
            f"{deployment.address}: field `parameters`: {', '.join(unknown)} not declared by the "
            f"template (it declares: {', '.join(sorted(declared)) or 'none'})"
        )
    values = {
        k: deployment.expand(v, target.account, target.region)
        for k, v in deployment.parameters.items()
    }
    if "Environment" in declared:
        values["Environment"] = deployment.environment
    if "AssetsBucket" in declared and bucket:
        values["AssetsBucket"] = bucket
    return values


def tags(deployment: Deployment) -> dict:
    return {
        **deployment.manifest.get("tags", {}),
        **deployment.tags,
        live.VERSION_TAG: deployment.version,
        live.CONFIG_TAG: deployment.config_hash(),
        live.APP_TAG: deployment.app,
        live.ENV_TAG: deployment.environment,
    }
