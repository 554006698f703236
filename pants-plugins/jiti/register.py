"""jiti: CloudFormation stacks as part of the Pants build graph."""

from jiti import dependency_inference, deploy, deploy_stacks, package, synthesis
from jiti.target_types import CloudFormationDeploymentTarget, CloudFormationStackTarget
from jiti.util_rules import lambda_zip


def target_types():
    return [CloudFormationStackTarget, CloudFormationDeploymentTarget]


def rules():
    return [
        *synthesis.rules(),
        *lambda_zip.rules(),
        *dependency_inference.rules(),
        *package.rules(),
        *deploy.rules(),
        *deploy_stacks.rules(),
    ]
