"""The record of a hotswap, since the stack itself still describes the version before it.

Two copies: an SSM parameter beside the stack (`/jiti/hotswapped/<stack>`), which
`drift-stacks` reads from anywhere (CloudFormation's drift detection does not compare a
function's code), and a file in the state directory of the machine that hotswapped, which makes
its next normal deploy of the stack deploy (never `up to date`, even after the edit is undone),
put back what the template says, and clear both. The parameter names the stack's version when
it was hotswapped: once the stack has another version, it no longer applies.
"""

from __future__ import annotations

import json
from pathlib import Path

from botocore.exceptions import ClientError

from jiti_deploy.deployment import Deployment
from jiti_deploy.destinations import Destination

PARAMETER_PREFIX = "/jiti/hotswapped/"


def parameter(stack_name: str) -> str:
    return f"{PARAMETER_PREFIX}{stack_name}"


def _file(marks_dir: Path, deployment: Deployment, destination: Destination) -> Path:
    return marks_dir / destination.region / f"{deployment.stack_name}.json"


def of(destination: Destination, deployment: Deployment, current, functions: dict, swap) -> dict:
    """The mark of a hotswap: what the stack describes, what runs now, and where."""
    return {
        "stack_version": current.version,
        "version": deployment.version,
        "functions": functions,
        "sites": sorted(swap.site),
        "account": destination.account,
    }


def put_local(
    marks_dir: Path | None, deployment: Deployment, destination: Destination, mark: dict
) -> None:
    """This machine's mark: written before anything changes, as it needs no call."""
    if marks_dir is not None:
        path = _file(marks_dir, deployment, destination)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(mark, sort_keys=True) + "\n")


def put(destination: Destination, deployment: Deployment, mark: dict) -> None:
    """The stack's own mark, which every machine reads."""
    destination.client("ssm").put_parameter(
        Name=parameter(deployment.stack_name),
        Value=json.dumps(mark, sort_keys=True),
        Type="String",
        Overwrite=True,
    )


def local(marks_dir: Path | None, deployment: Deployment, destination: Destination) -> dict | None:
    """This machine's mark of the stack, if it hotswapped it (read without any call)."""
    if marks_dir is None:
        return None
    path = _file(marks_dir, deployment, destination)
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def read(destination: Destination, stack_name: str) -> dict | None:
    """The stack's mark, wherever it was hotswapped from; None if it has none."""
    try:
        value = destination.client("ssm").get_parameter(Name=parameter(stack_name))
    except ClientError as e:
        if e.response["Error"].get("Code") == "ParameterNotFound":
            return None
        raise
    try:
        return json.loads(value["Parameter"]["Value"])
    except ValueError:
        return None


def clear(destination: Destination, deployment: Deployment, marks_dir: Path | None) -> None:
    """Both copies gone: the stack describes what runs again."""
    try:
        destination.client("ssm").delete_parameter(Name=parameter(deployment.stack_name))
    except ClientError as e:
        if e.response["Error"].get("Code") != "ParameterNotFound":
            raise
    if marks_dir is not None:
        _file(marks_dir, deployment, destination).unlink(missing_ok=True)
