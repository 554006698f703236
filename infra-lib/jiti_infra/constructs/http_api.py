"""An HTTP API: API Gateway REST API (v1) with Lambda proxy routes.

REST API v1 rather than the HTTP API (v2) because it is what every CloudFormation
implementation jiti deploys to supports, including the embedded local AWS.
"""

from __future__ import annotations

import json
import re

from troposphere import GetAtt, Join, Ref, Sub, apigateway, awslambda, logs

from jiti_infra.app import App
from jiti_infra.constructs.functions import Function, log_retention
from jiti_infra.constructs.policy import skip_checks

STAGE = "live"
PUBLIC_ROUTE = (
    "public by design: http_api routes take anonymous requests (no authorizer); "
    "the handler decides what a caller may do"
)
# One JSON line per request in the access log (API Gateway's $context variables).
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "status": "$context.status",
        "responseLength": "$context.responseLength",
        "integrationLatency": "$context.integrationLatency",
    }
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


def _stage(app: App, name: str, rate_limit: float, burst_limit: int) -> apigateway.StageDescription:
    """The stage's settings: every request in the access log (kept as long as the app's other
    logs), and throttling on every method."""
    access_logs = app.add(logs.LogGroup(f"{name}AccessLogs", RetentionInDays=log_retention(app)))
    return apigateway.StageDescription(
        AccessLogSetting=apigateway.AccessLogSetting(
            DestinationArn=GetAtt(access_logs, "Arn"), Format=ACCESS_LOG_FORMAT
        ),
        ThrottlingRateLimit=rate_limit,
        ThrottlingBurstLimit=burst_limit,
    )


def http_api(
    app: App,
    name: str,
    *,
    routes: dict[str, Function],
    rate_limit: float = 100,
    burst_limit: int = 200,
) -> apigateway.RestApi:
    """A public REST API whose routes (`"GET /hello"`) each invoke a function; outputs `<name>Url`.

    Every request is written to the `<name>AccessLogs` log group, and the stage is throttled to
    `rate_limit` requests per second (bursts of `burst_limit`), far below the account's limit,
    so one API cannot use up the account's share. API Gateway writes access logs only once the
    account has its CloudWatch Logs role (API Gateway's account settings, set once per account
    and region: `aws apigateway update-account --patch-operations
    op=replace,path=/cloudwatchRoleArn,value=<role ARN>`); without it the stage is refused.
    """
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
            f"{name}Deployment",
            RestApiId=Ref(api),
            StageName=STAGE,
            StageDescription=_stage(app, name, rate_limit, burst_limit),
            DependsOn=methods,
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
