"""jiti: CloudFormation stacks as part of the Pants build graph."""

from jiti import dependency_inference, package, synthesis
from jiti.target_types import CloudFormationStackTarget


def target_types():
    return [CloudFormationStackTarget]


def rules():
    return [*synthesis.rules(), *dependency_inference.rules(), *package.rules()]
