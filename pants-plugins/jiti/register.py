"""jiti: CloudFormation stacks as part of the Pants build graph."""

from jiti import dependency_inference
from jiti.goals import deploy, deploy_stacks, package, tailor
from jiti.lint.cfn_lint import rules as cfn_lint
from jiti.lint.checkov import rules as checkov
from jiti.target_types import CloudFormationDeploymentTarget, CloudFormationStackTarget
from jiti.util_rules import (
    app_names,
    assets,
    deploy_runtime,
    deployment,
    stack_names,
    synthesis,
)


def target_types():
    return [CloudFormationStackTarget, CloudFormationDeploymentTarget]


def rules():
    return [
        *dependency_inference.rules(),
        *app_names.rules(),
        *assets.rules(),
        *synthesis.rules(),
        *deploy_runtime.rules(),
        *deployment.rules(),
        *stack_names.rules(),
        *package.rules(),
        *deploy.rules(),
        *deploy_stacks.rules(),
        *cfn_lint.rules(),
        *checkov.rules(),
        *tailor.rules(),
    ]
