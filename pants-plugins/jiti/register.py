"""jiti: CloudFormation stacks as part of the Pants build graph."""

from jiti import dependency_inference, deploy, deploy_stacks, package, synthesis
from jiti.target_types import CloudFormationDeploymentTarget, CloudFormationStackTarget


def target_types():
    return [CloudFormationStackTarget, CloudFormationDeploymentTarget]


def rules():
    return [
        *synthesis.rules(),
        *dependency_inference.rules(),
        *package.rules(),
        *deploy.rules(),
        *deploy_stacks.rules(),
    ]
