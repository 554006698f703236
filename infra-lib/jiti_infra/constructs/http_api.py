"""An HTTP API: API Gateway REST API (v1) with Lambda proxy routes.

REST API v1 rather than the HTTP API (v2) because it is what every CloudFormation
implementation jiti deploys to supports, including the embedded local AWS.
"""

from __future__ import annotations

import re

from troposphere import GetAtt, Join, Ref, Sub, apigateway, awslambda

from jiti_infra.app import App
from jiti_infra.constructs.functions import Function

STAGE = "live"
_ROUTE = re.compile(r"^(GET|POST|PUT|PATCH|DELETE|ANY) (/[A-Za-z0-9_{}/.-]*)$")


def _logical(text: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", text) if part)


def http_api(app: App, name: str, *, routes: dict[str, Function]) -> apigateway.RestApi:
    """A REST API whose routes (`"GET /hello"`) each invoke a function; outputs `<name>Url`."""
    api = app.add(apigateway.RestApi(name, Name=app.physical_name(name)))
    resources: dict[str, object] = {"": GetAtt(api, "RootResourceId")}
    methods = []
    invoked = {}
    for route, fn in sorted(routes.items()):
        match = _ROUTE.match(route)
        if not match:
            raise ValueError(
                f"route {route!r} must look like 'GET /path' (methods: GET POST PUT PATCH DELETE ANY)"
            )
        verb, path = match.groups()
        parent = ""
        for segment in [s for s in path.split("/") if s]:
            current = f"{parent}/{segment}"
            if current not in resources:
                resources[current] = Ref(
                    app.add(
                        apigateway.Resource(
                            f"{name}{_logical(current)}Resource",
                            RestApiId=Ref(api),
                            ParentId=resources[parent],
                            PathPart=segment,
                        )
                    )
                )
            parent = current
        methods.append(
            app.add(
                apigateway.Method(
                    f"{name}{_logical(verb.title() + path) or 'Root'}",
                    RestApiId=Ref(api),
                    ResourceId=resources[parent],
                    HttpMethod=verb,
                    AuthorizationType="NONE",
                    Integration=apigateway.Integration(
                        Type="AWS_PROXY",
                        IntegrationHttpMethod="POST",
                        Uri=Sub(
                            "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Fn}/invocations",
                            Fn=fn.arn,
                        ),
                    ),
                )
            ).title
        )
        invoked[fn.function.title] = fn
    for title, fn in sorted(invoked.items()):
        app.add(
            awslambda.Permission(
                f"{name}Invokes{title}",
                FunctionName=Ref(fn.function),
                Action="lambda:InvokeFunction",
                Principal="apigateway.amazonaws.com",
                SourceArn=Sub(
                    "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/*",
                    Api=Ref(api),
                ),
            )
        )
    app.add(
        apigateway.Deployment(
            f"{name}Deployment", RestApiId=Ref(api), StageName=STAGE, DependsOn=methods
        )
    )
    app.output(
        f"{name}Url",
        Join(
            "",
            [
                "https://",
                Ref(api),
                ".execute-api.",
                Ref("AWS::Region"),
                ".",
                Ref("AWS::URLSuffix"),
                f"/{STAGE}",
            ],
        ),
        f"Base URL of the {name} API",
    )
    return api
