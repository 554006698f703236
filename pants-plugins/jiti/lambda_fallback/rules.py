"""A `python_awslambda` built by Pants' own rules, as `pants.backend.awslambda.python` builds it."""

from __future__ import annotations

from dataclasses import dataclass

from pants.backend.awslambda.python.rules import PythonAwsLambdaFieldSet
from pants.backend.awslambda.python.target_types import PythonAWSLambda, PythonAwsLambdaHandlerField
from pants.backend.python.subsystems.lambdex import Lambdex, LambdexLayout
from pants.backend.python.util_rules.faas import BuildLambdexRequest, BuildPythonFaaSRequest
from pants.core.goals.package import BuiltPackage
from pants.engine.rules import Get, collect_rules, rule
from pants.engine.unions import UnionRule

from jiti.util_rules.lambda_zip import LambdaFallbackRequest


@dataclass(frozen=True)
class PantsLambdaRequest(LambdaFallbackRequest):
    """The member of jiti's fallback union this backend registers."""


def _common(field_set: PythonAwsLambdaFieldSet) -> dict:
    """The fields both of Pants' Lambda builders take, as its `python_awslambda` rule gives them."""
    return dict(
        address=field_set.address,
        target_name=PythonAWSLambda.alias,
        complete_platforms=field_set.complete_platforms,
        runtime=field_set.runtime,
        handler=field_set.handler,
        output_path=field_set.output_path,
        include_requirements=field_set.include_requirements.value,
    )


def faas_request(field_set: PythonAwsLambdaFieldSet) -> BuildPythonFaaSRequest:
    """The request for the zip layout (`[lambdex].layout = "zip"`)."""
    return BuildPythonFaaSRequest(
        **_common(field_set),
        reexported_handler_module=PythonAwsLambdaHandlerField.reexported_handler_module,
    )


@rule(desc="Create Python AWS Lambda with Pants' builders")
async def pants_lambda(request: PantsLambdaRequest, lambdex: Lambdex) -> BuiltPackage:
    if lambdex.layout is LambdexLayout.LAMBDEX:
        lambdex_request = BuildLambdexRequest(
            **_common(request.field_set),
            script_handler=None,
            script_module=None,
            handler_log_message="lambdex_handler.handler",
        )
        return await Get(BuiltPackage, BuildLambdexRequest, lambdex_request)
    return await Get(BuiltPackage, BuildPythonFaaSRequest, faas_request(request.field_set))


def rules():
    return [*collect_rules(), UnionRule(LambdaFallbackRequest, PantsLambdaRequest)]
