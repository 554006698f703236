"""What a deploy records on its stack besides its stable tags: the version, the settings' hash
and the commit, as outputs of the template it sends (CloudFormation returns them in the same
DescribeStacks, and an output touches no resource, where a stack tag re-tags every resource).

The packaged template, and so the version computed from it, stays as the build made it: the
outputs are added only to the text sent to CloudFormation."""

from __future__ import annotations

import json

from jiti_contract import (
    COMMIT_OUTPUT,
    COMMIT_TIME_OUTPUT,
    CONFIG_OUTPUT,
    RECORD_OUTPUTS,
    VERSION_OUTPUT,
)
from jiti_deploy.deployment import Deployment
from jiti_deploy.errors import DeployError

MAX_OUTPUTS = 200  # CloudFormation's limit on a template's outputs


def values(deployment: Deployment) -> dict[str, str]:
    """The record of this deployment, as output values."""
    recorded = {VERSION_OUTPUT: deployment.version, CONFIG_OUTPUT: deployment.config_hash()}
    if deployment.source:
        recorded[COMMIT_OUTPUT] = deployment.source.commit
        recorded[COMMIT_TIME_OUTPUT] = str(deployment.source.time)
    return recorded


def template_text(deployment: Deployment) -> str:
    """The packaged template with the record added to its outputs: the text sent."""
    template = json.loads(deployment.template_path.read_text())
    outputs = dict(template.get("Outputs") or {})
    taken = sorted(set(outputs) & set(RECORD_OUTPUTS))
    if taken:
        raise DeployError(
            f"{deployment.manifest.address}: the template declares the output "
            f"{', '.join(taken)}, a name jiti keeps for its own record: rename it"
        )
    recorded = values(deployment)
    if len(outputs) + len(recorded) > MAX_OUTPUTS:
        raise DeployError(
            f"{deployment.manifest.address}: the template declares {len(outputs)} outputs; jiti "
            f"adds {len(recorded)} and CloudFormation takes at most {MAX_OUTPUTS}"
        )
    for name, value in recorded.items():
        outputs[name] = {
            "Description": "Recorded by jiti: not an output of the app",
            "Value": value,
        }
    template["Outputs"] = outputs
    return json.dumps(template, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def split(outputs: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """A stack's outputs as (the app's own, jiti's record)."""
    own = {k: v for k, v in outputs.items() if k not in RECORD_OUTPUTS}
    return own, {k: v for k, v in outputs.items() if k in RECORD_OUTPUTS}


def from_template(body) -> dict[str, str]:
    """The record in a template's text (a StackSet's: DescribeStackSet returns its body)."""
    try:
        template = body if isinstance(body, dict) else json.loads(body or "{}")
    except ValueError:
        return {}
    outputs = template.get("Outputs") or {}
    return {
        k: v["Value"]
        for k, v in outputs.items()
        if k in RECORD_OUTPUTS and isinstance(v, dict) and isinstance(v.get("Value"), str)
    }
