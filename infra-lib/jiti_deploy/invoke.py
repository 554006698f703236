"""`--mode invoke`: run a `python_awslambda`'s handler on this machine, with the environment its
deployed function has (`pants run` on the Lambda).

The function is found from the build, not guessed: the deployment's synthesized template names
the `AWS::Lambda::Function` whose code is the Lambda's asset (its `Code.S3Key`), the live stack
gives that resource's function (`DescribeStackResource`), and `GetFunctionConfiguration` its
environment variables, memory, timeout and handler. The handler then runs in a process of its
own (`lambda_process.py`) with those variables and the ones the Lambda runtime defines, and
credentials that reach where the function runs: on the local AWS, its endpoint and made-up
credentials. The variables' values are never printed: they may hold secrets.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from jiti_contract import EXIT_USER_ERROR, InvokeRequest, from_json
from jiti_deploy import aws_names, lambda_process, masking, output
from jiti_deploy.destinations import Destination, Destinations
from jiti_deploy.errors import DeployError
from jiti_deploy.local_aws import LocalAwsError

# The module Pants' (and jiti's) `python_awslambda` zip has Lambda call.
PANTS_LAMBDA_MODULE = "lambda_function"
# The Lambda defaults, for a handler run without a deployed function.
DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S = 128, 3


class InvokeError(DeployError):
    """A mistake in the invocation (the event, the request): one line, exit EXIT_USER_ERROR."""


@dataclass(frozen=True)
class Function:
    """What the handler's process is given of a function, deployed or not."""

    name: str
    arn: str
    region: str
    memory_mb: int
    timeout_s: int
    handler: str  # as configured (e.g. `lambda_function.handler`)
    variables: dict  # its environment variables: values never printed


def read_event(source: str | None, stdin=None) -> str:
    """The event, as JSON text: from a file, `-` for stdin, `{}` without one."""
    if source is None:
        return "{}"
    where = "stdin" if source == "-" else source
    try:
        text = (stdin or sys.stdin).read() if source == "-" else Path(source).read_text()
    except OSError as e:
        raise InvokeError(f"--event {where}: cannot read it ({e.strerror or e})") from None
    try:
        json.loads(text)
    except ValueError as e:
        raise InvokeError(f"--event {where}: not JSON ({e})") from None
    return text


def function_ids(template: dict, asset_key: str) -> list[str]:
    """The logical ids of the template's functions whose code is the asset at `asset_key`."""
    return sorted(
        logical_id
        for logical_id, resource in (template.get("Resources") or {}).items()
        if isinstance(resource, dict)
        and resource.get("Type") == "AWS::Lambda::Function"
        and ((resource.get("Properties") or {}).get("Code") or {}).get("S3Key") == asset_key
    )


def _physical_id(destination: Destination, stack_name: str, logical_id: str) -> str | None:
    """The function a stack's resource is, or None when the stack or the resource is not live."""
    try:
        answer = destination.client("cloudformation").describe_stack_resource(
            StackName=stack_name, LogicalResourceId=logical_id
        )
    except ClientError as e:
        if e.response["Error"]["Code"] == "ValidationError":  # no such stack, or resource
            return None
        raise
    return answer["StackResourceDetail"].get("PhysicalResourceId") or None


def live_function(destination: Destination, stack_name: str, logical_id: str) -> Function | None:
    name = _physical_id(destination, stack_name, logical_id)
    if name is None:
        return None
    try:
        config = destination.client("lambda").get_function_configuration(FunctionName=name)
    except ClientError as e:
        if e.response["Error"]["Code"] == "ResourceNotFoundException":
            return None
        raise
    return Function(
        name=config["FunctionName"],
        arn=config["FunctionArn"],
        region=destination.region,
        memory_mb=config.get("MemorySize", DEFAULT_MEMORY_MB),
        timeout_s=config.get("Timeout", DEFAULT_TIMEOUT_S),
        handler=config.get("Handler", ""),
        variables=dict((config.get("Environment") or {}).get("Variables") or {}),
    )


def local_function(request: InvokeRequest, destination: Destination) -> Function:
    """The function as it would be without a deployment: named after its target, with Lambda's
    default memory and timeout and no variables of its own."""
    name = request.address.replace("/", "-").replace(":", "-").strip("-")
    region = destination.region
    arn = f"arn:{aws_names.partition(destination.session, region)}:lambda:{region}:{destination.account}:function:{name}"
    handler = f"{PANTS_LAMBDA_MODULE}.handler"
    return Function(name, arn, region, DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S, handler, {})


def lambda_variables(function: Function, runtime: str, task_root: str) -> dict[str, str]:
    """The variables the Lambda runtime defines for a function (AWS Lambda Developer Guide,
    "Defined runtime environment variables"), over the function's own: Lambda refuses a
    function variable of these names, so theirs always win."""
    return {
        **function.variables,
        "_HANDLER": function.handler,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime}",
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "local/[$LATEST]jiti",
        "AWS_REGION": function.region,
        "AWS_DEFAULT_REGION": function.region,
        "LAMBDA_TASK_ROOT": task_root,
        "TZ": ":UTC",
    }


# What the handler's process keeps of the runtime's environment: where programs are, and how
# this machine reaches AWS (proxies, CA bundles).
_KEPT = ("PATH", "HOME", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy",
         "no_proxy", "AWS_CA_BUNDLE", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")  # fmt: skip


def aws_variables(destination: Destination) -> dict[str, str]:
    """Credentials and endpoint that reach where the function runs: the local AWS's, or the
    caller's (the deployment's role assumed, when it names an account)."""
    frozen = destination.session.get_credentials().get_frozen_credentials()
    env = {"AWS_ACCESS_KEY_ID": frozen.access_key, "AWS_SECRET_ACCESS_KEY": frozen.secret_key}
    if frozen.token:
        env["AWS_SESSION_TOKEN"] = frozen.token
    if destination.endpoint_url:
        env["AWS_ENDPOINT_URL"] = destination.endpoint_url
    return env


def _find(
    request: InvokeRequest, artifacts: Path, destinations: Destinations, log
) -> tuple[Destination, Function]:
    """Where the handler runs and as which function: the deployment's live one, or (not
    deployed) one named after the target, said in one line."""
    place = request.place
    if place is None:
        destination = destinations.get(None, None, None)
        log(f"{request.address}: {request.note}: running it without a stack's environment")
        return destination, local_function(request, destination)
    destination = destinations.of_place(place)
    template = json.loads((artifacts / request.template).read_text())
    ids = function_ids(template, request.asset_key)
    found = live_function(destination, place.stack_name, ids[0]) if ids else None
    if found is None:
        what = f"function {ids[0]}" if ids else f"function whose code is {request.address}"
        log(
            f"{request.address}: not deployed ({request.deployment}'s stack {place.stack_name} "
            f"has no live {what}): running it without the stack's environment; deploy it with "
            f"`pants run {request.deployment}`"
        )
        return destination, local_function(request, destination)
    others = f" (of {', '.join(ids)})" if len(ids) > 1 else ""
    log(
        f"{request.address}: running as {found.name}{others} of {request.deployment}, with its "
        f"{len(found.variables)} environment variables (values not shown)"
    )
    masking.add(found.variables.values())  # from here on, never in a line jiti prints
    return destination, found


def _run_handler(
    request: InvokeRequest, function: Function, destination: Destination, event: str, args
) -> int:
    """The handler's exit code: 0 with its result on stdout, 1 when it raised."""
    roots = [str(args.build_root / root) for root in request.source_roots if args.build_root]
    roots += [str(args.artifacts / root) for root in request.source_roots]
    task_root = roots[0] if roots else str(args.artifacts)
    env = {name: os.environ[name] for name in _KEPT if name in os.environ}
    env.update(lambda_variables(function, request.runtime, task_root))
    env.update(aws_variables(destination))
    with tempfile.TemporaryDirectory(prefix="jiti-invoke-") as directory:
        harness = Path(directory, "lambda_process.py")  # alone: its directory heads sys.path
        shutil.copyfile(lambda_process.__file__, harness)
        command = [
            str(args.artifacts / request.python),
            str(harness),
            "--handler",
            request.handler,
            *(arg for root in roots for arg in ("--root", root)),
            "--function-arn",
            function.arn,
            "--timeout",
            str(function.timeout_s),
            "--task-root",
            task_root,
        ]
        output.flushed(timeout_s=10)  # jiti's lines before the handler's
        try:  # from the artifacts: the venv's first run finds what it is made from there
            done = subprocess.run(command, input=event.encode(), env=env, cwd=args.artifacts)
        except KeyboardInterrupt:
            return 130
    return done.returncode


def main(args) -> int:
    """Run the handler the request (`--invoke`) names on the event (`--event`); every line is
    written before it returns (the output thread would otherwise lose the last ones at exit)."""
    try:
        return _main(args)
    finally:
        output.flushed(timeout_s=10)


def _main(args) -> int:
    log = output.err  # stdout holds the handler's result only
    destinations = Destinations(
        args.target, args.state_dir.resolve(), log=log, assets_bucket=args.assets_bucket
    )
    try:
        try:
            request = from_json(InvokeRequest, args.invoke.read_text())
        except (OSError, ValueError, TypeError) as e:
            raise InvokeError(f"cannot read the invocation {args.invoke}: {e}") from None
        event = read_event(args.event)
        destination, function = _find(request, args.artifacts, destinations, log)
        return _run_handler(request, function, destination, event, args)
    except InvokeError as e:
        log(f"error: {e}")
        return EXIT_USER_ERROR
    except (DeployError, LocalAwsError) as e:
        log(f"error: {e}")
    except (ClientError, BotoCoreError) as e:  # AWS said no: its message, never a traceback
        log(f"error: AWS: {e}")
    return 1
