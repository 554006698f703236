"""jiti: CloudFormation stacks as part of the Pants build graph.

jiti also packages `python_awslambda` targets (jiti.util_rules.lambda_zip), in place of Pants'
`pants.backend.awslambda.python` backend: enable one or the other, not both. The Lambdas it does
not build itself (the lambdex layout, local distributions) are built by Pants' own builders with
the `jiti.lambda_fallback` backend enabled beside this one.
"""

from pants.backend.awslambda.python.target_types import PythonAWSLambda

from jiti import dependency_inference
from jiti.goals import (
    deploy,
    deploy_stacks,
    destroy_stacks,
    drift_stacks,
    invoke,
    package,
    plan_stacks,
    prune_stacks,
    tailor,
)
from jiti.lint.cfn_lint import rules as cfn_lint
from jiti.lint.checkov import rules as checkov
from jiti.target_types import CloudFormationDeploymentTarget, CloudFormationStackTarget
from jiti.util_rules import (
    app_names,
    assets,
    deploy_runtime,
    deployment,
    inputs,
    inventory,
    lambda_zip,
    preview,
    stack_names,
    synthesis,
)


def target_types():
    return [CloudFormationStackTarget, CloudFormationDeploymentTarget, PythonAWSLambda]


def rules():
    return [
        *dependency_inference.rules(),
        *app_names.rules(),
        *assets.rules(),
        *synthesis.rules(),
        *lambda_zip.rules(),
        *deploy_runtime.rules(),
        *deployment.rules(),
        *inventory.rules(),
        *inputs.rules(),
        *stack_names.rules(),
        *preview.rules(),
        *package.rules(),
        *deploy.rules(),
        *deploy_stacks.rules(),
        *prune_stacks.rules(),
        *drift_stacks.rules(),
        *plan_stacks.rules(),
        *destroy_stacks.rules(),
        *cfn_lint.rules(),
        *checkov.rules(),
        *tailor.rules(),
        *invoke.rules(),
    ]
