"""Lambda functions from packaged assets, each with its own log group and least-privilege role."""

from __future__ import annotations

from dataclasses import dataclass, field

from troposphere import GetAtt, Ref, Sub, awslambda, iam, logs

from jiti_infra.app import App, Asset

# The module Pants writes into a `python_awslambda` zip (layout "zip") to call the handler.
PANTS_LAMBDA_HANDLER = "lambda_function.handler"
LOG_RETENTION_PARAMETER = "LogRetentionDays"


@dataclass
class Function:
    """A function and the role it runs as; other blocks grant it access through `allow`."""

    function: awslambda.Function
    role: iam.Role
    statements: list = field(default_factory=list)

    @property
    def arn(self) -> GetAtt:
        return GetAtt(self.function, "Arn")

    def allow(self, actions: list[str], resources: list) -> None:
        """Grant `actions` on exactly `resources` (never `*`)."""
        self.statements.append(
            {"Effect": "Allow", "Action": sorted(actions), "Resource": resources}
        )

    def set_env(self, name: str, value) -> None:
        self.function.Environment.Variables[name] = value


def log_retention(app: App) -> Ref:
    """The app's one log retention, in days (a parameter every log group of the app shares)."""
    return Ref(
        app.parameter(
            LOG_RETENTION_PARAMETER,
            type="Number",
            default=14,
            description="Days to keep the app's logs.",
            AllowedValues=[1, 3, 5, 7, 14, 30, 60, 90, 180, 365],
        )
    )


def _log_group(app: App, name: str, function_name) -> logs.LogGroup:
    """The function's own log group, kept as long as the app's retention parameter says."""
    return app.add(
        logs.LogGroup(
            f"{name}Logs",
            LogGroupName=Sub("/aws/lambda/${Name}", Name=function_name),
            RetentionInDays=log_retention(app),
        )
    )


def _execution_role(app: App, name: str) -> iam.Role:
    return app.add(
        iam.Role(
            f"{name}Role",
            AssumeRolePolicyDocument={
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            },
        )
    )


def lambda_function(
    app: App,
    name: str,
    *,
    asset: Asset,
    memory: int = 256,
    timeout: int = 10,
    environment: dict | None = None,
    handler: str = PANTS_LAMBDA_HANDLER,
    runtime: str = "python3.11",
) -> Function:
    """A Python Lambda function from a packaged asset (e.g. a `python_awslambda` target)."""
    function_name = app.physical_name(name)
    log_group = _log_group(app, name, function_name)
    role = _execution_role(app, name)
    fn = Function(
        function=app.add(
            awslambda.Function(
                name,
                FunctionName=function_name,
                Runtime=runtime,
                Handler=handler,
                Code=awslambda.Code(
                    S3Bucket=asset.bucket,
                    S3Key=asset.key,
                    S3ObjectVersion=app.asset_version(asset),
                ),
                Role=GetAtt(role, "Arn"),
                MemorySize=memory,
                Timeout=timeout,
                Environment=awslambda.Environment(
                    Variables={
                        "JITI_APP": app.name,
                        "JITI_ENV": app.environment,
                        **(environment or {}),
                    }
                ),
                DependsOn=[log_group.title],
            )
        ),
        role=role,
    )
    fn.allow(["logs:CreateLogStream", "logs:PutLogEvents"], [GetAtt(log_group, "Arn")])
    # The statements list is shared, so grants added later by other blocks land in the policy.
    role.Policies = [
        iam.Policy(
            PolicyName="least-privilege",
            PolicyDocument={"Version": "2012-10-17", "Statement": fn.statements},
        )
    ]
    return fn
