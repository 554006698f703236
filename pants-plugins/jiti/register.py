"""jiti: CloudFormation stacks as part of the Pants build graph.

jiti also packages `python_awslambda` targets (jiti.util_rules.lambda_zip), in place of Pants'
`pants.backend.awslambda.python` backend: enable one or the other, not both.
"""

from pants.backend.awslambda.python.target_types import PythonAWSLambda

from jiti import dependency_inference, deploy, deploy_stacks, package, synthesis
from jiti.target_types import CloudFormationDeploymentTarget, CloudFormationStackTarget
from jiti.util_rules import lambda_zip


def target_types():
    return [CloudFormationStackTarget, CloudFormationDeploymentTarget, PythonAWSLambda]


def rules():
    return [
        *synthesis.rules(),
        *lambda_zip.rules(),
        *dependency_inference.rules(),
        *package.rules(),
        *deploy.rules(),
        *deploy_stacks.rules(),
    ]
