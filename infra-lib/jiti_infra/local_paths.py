"""Refuse local paths where CloudFormation takes only S3 locations.

`aws cloudformation package` and the SAM CLI upload the files these properties name and write
their S3 locations into the template; jiti does not (its assets come from the build graph,
`app.asset(...)`), and CloudFormation cannot read a path on the machine that packaged the
template. So a local path here is refused when the stack is packaged, instead of a change set
that fails on the account.
"""

from __future__ import annotations

# The properties `aws cloudformation package` uploads, as strings (an object, such as a
# function's `{Bucket, Key}` or an intrinsic function, is taken as written).
TAKES_S3_ONLY = {
    "AWS::CloudFormation::Stack": ("TemplateURL",),
    "AWS::Serverless::Function": ("CodeUri",),
    "AWS::Serverless::LayerVersion": ("ContentUri",),
    "AWS::Serverless::Api": ("DefinitionUri",),
    "AWS::Serverless::HttpApi": ("DefinitionUri",),
    "AWS::Serverless::StateMachine": ("DefinitionUri",),
    "AWS::Serverless::Application": ("Location",),
    "AWS::Lambda::Function": ("Code",),
}
REMOTE = ("s3://", "https://", "http://")
NESTED_ADVICE = (
    "jiti does not upload nested templates: give an S3 URL, or make it a "
    "`cloudformation_deployment` of its own and pass values between them with `inputs`"
)
CODE_ADVICE = (
    "jiti packages code only as assets of the build graph: write the stack in troposphere "
    'with `app.asset(":lambda")` (e.g. `lambda_function(app, ..., asset=app.asset(":lambda"))`), '
    "or give an S3 location (s3://bucket/key)"
)


def _local(value) -> bool:
    return isinstance(value, str) and not value.lower().startswith(REMOTE)


def _advice(resource_type: str) -> str:
    return NESTED_ADVICE if resource_type == "AWS::CloudFormation::Stack" else CODE_ADVICE


def problem(template: dict) -> str | None:
    """The first local path CloudFormation cannot read, said in one line; None if there is none."""
    function = (template.get("Globals") or {}).get("Function") or {}
    code = function.get("CodeUri") if isinstance(function, dict) else None
    if _local(code):
        return f"Globals.Function: CodeUri {code!r} is a local path: {CODE_ADVICE}"
    for logical_id, resource in sorted(template.get("Resources", {}).items()):
        kind = resource.get("Type") if isinstance(resource, dict) else None
        properties = resource.get("Properties") or {} if kind else {}
        for name in TAKES_S3_ONLY.get(kind, ()):
            if _local(properties.get(name)):
                return (
                    f"resource {logical_id} ({kind}): {name} {properties[name]!r} is a local "
                    f"path: {_advice(kind)}"
                )
    return None
