"""An HTTP API: API Gateway REST API (v1) with Lambda proxy routes.

REST API v1 rather than the HTTP API (v2) because it is what every CloudFormation
implementation jiti deploys to supports, including the embedded local AWS.
"""

from __future__ import annotations

import re

from troposphere import GetAtt, Join, Ref, Sub, apigateway, awslambda

from jiti_infra.app import App
from jiti_infra.constructs.functions import Function
from jiti_infra.constructs.policy import skip_checks

STAGE = "live"
PUBLIC_ROUTE = (
    "public by design: http_api routes take anonymous requests (no authorizer); "
    "the handler decides what a caller may do"
)
_ROUTE = re.compile(r"^(GET|POST|PUT|PATCH|DELETE|ANY) (/[A-Za-z0-9_{}/.-]*)$")


def _logical(text: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", text) if part)


def _parse_route(route: str) -> tuple[str, str]:
    match = _ROUTE.match(route)
    if not match:
        raise ValueError(
            f"route {route!r} must look like 'GET /path' (methods: GET POST PUT PATCH DELETE ANY)"
        )
    return match.group(1), match.group(2)


def _resource_for(app: App, name: str, api, path: str, resources: dict) -> object:
    """The API resource of `path`, adding the resources of its segments not added yet."""
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
    return resources[parent]


def _method(app: App, name: str, api, verb: str, path: str, resource, fn: Function) -> str:
    """A public Lambda proxy method; returns its logical id."""
    method = apigateway.Method(
        f"{name}{_logical(verb.title() + path) or 'Root'}",
        RestApiId=Ref(api),
        ResourceId=resource,
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
    skip_checks(method, {"CKV_AWS_59": PUBLIC_ROUTE})
    return app.add(method).title


def _allow_invoke(app: App, name: str, api, fn: Function) -> None:
    app.add(
        awslambda.Permission(
            f"{name}Invokes{fn.function.title}",
            FunctionName=Ref(fn.function),
            Action="lambda:InvokeFunction",
            Principal="apigateway.amazonaws.com",
            SourceArn=Sub(
                "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/*",
                Api=Ref(api),
            ),
        )
    )


def http_api(app: App, name: str, *, routes: dict[str, Function]) -> apigateway.RestApi:
    """A public REST API whose routes (`"GET /hello"`) each invoke a function; outputs `<name>Url`."""
    api = app.add(apigateway.RestApi(name, Name=app.physical_name(name)))
    resources: dict[str, object] = {"": GetAtt(api, "RootResourceId")}
    methods, invoked = [], {}
    for route, fn in sorted(routes.items()):
        verb, path = _parse_route(route)
        resource = _resource_for(app, name, api, path, resources)
        methods.append(_method(app, name, api, verb, path, resource, fn))
        invoked[fn.function.title] = fn
    for _, fn in sorted(invoked.items()):
        _allow_invoke(app, name, api, fn)
    app.add(
        apigateway.Deployment(
            f"{name}Deployment", RestApiId=Ref(api), StageName=STAGE, DependsOn=methods
        )
    )
    url = Join(
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
    )
    app.output(f"{name}Url", url, f"Base URL of the {name} API")
    return api
