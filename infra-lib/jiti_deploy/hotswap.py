"""`--jiti-hotswap`: what differs between a live stack and its new version, and whether all of
it can be changed directly, without CloudFormation.

Hotswappable are only: the code of a Lambda function read from a jiti asset (`Code.S3Key` in
the assets bucket), a function's environment variables whose values are written in the
template itself (plain strings: no parameter, reference or input), and a static site's content
(`jiti:site-content`). Anything else (a resource, a parameter, an output, the deployment's own
settings or input values, a new stack) needs CloudFormation, and the reason is given.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path

from jiti_contract import (
    ASSET_VERSION_PARAMETER_PREFIX,
    ASSETS_BUCKET_PARAMETER,
    CONFIG_OUTPUT,
    RECORD_OUTPUTS,
    SITE_CONTENT_METADATA,
)

FUNCTION = "AWS::Lambda::Function"
SWAPPED = "<hotswappable>"  # what a hotswappable value is replaced with before comparing
STABLE = ("CREATE_COMPLETE", "UPDATE_COMPLETE")


@dataclass(frozen=True)
class Options:
    """How a run treats hotswaps: whether it makes them (`--hotswap`), and where this machine
    keeps its marks (`hotswap_marks`; None: nowhere)."""

    enabled: bool = False
    marks_dir: Path | None = None


@dataclass(frozen=True)
class Swap:
    """What a hotswap changes, by the function's logical id (and the site's bucket output)."""

    code: dict = field(default_factory=dict)  # logical id -> the new asset key
    environment: dict = field(default_factory=dict)  # logical id -> the new variables
    site: dict = field(default_factory=dict)  # bucket output -> (old asset key, new asset key)

    def __bool__(self) -> bool:
        return bool(self.code or self.environment or self.site)

    def lines(self) -> list[str]:
        found = [f"{lid}: code -> {key}" for lid, key in sorted(self.code.items())]
        found += [f"{lid}: environment variables" for lid in sorted(self.environment)]
        found += [f"site content ({output})" for output in sorted(self.site)]
        return found


class NotHotswappable(Exception):
    """The difference CloudFormation must make (the message says which)."""


def _asset_key(code) -> str | None:
    """The asset key a function's code is read from, if it is a jiti asset."""
    if not isinstance(code, dict) or code.get("S3Bucket") != {"Ref": ASSETS_BUCKET_PARAMETER}:
        return None
    key = code.get("S3Key")
    return key if isinstance(key, str) and key.startswith("assets/") else None


def _literal_variables(properties: dict) -> dict | None:
    variables = (properties.get("Environment") or {}).get("Variables")
    if isinstance(variables, dict) and all(isinstance(v, str) for v in variables.values()):
        return variables
    return None


def _function(properties: dict, lid: str, found: dict) -> None:
    key = _asset_key(properties.get("Code"))
    if key:
        found["code"][lid] = key
        properties["Code"] = SWAPPED
    variables = _literal_variables(properties)
    if variables is not None:
        found["environment"][lid] = variables
        properties["Environment"] = SWAPPED


def normalized(template: dict) -> tuple[dict, dict]:
    """The template with what a hotswap changes taken out (and jiti's record, and the asset
    version parameters named after each asset's digest), and what was taken out."""
    t = copy.deepcopy(template)
    found: dict = {"code": {}, "environment": {}, "site": {}}
    prefix = ASSET_VERSION_PARAMETER_PREFIX
    for part, drop in (
        ("Parameters", lambda k: k.startswith(prefix)),
        ("Conditions", lambda k: k.startswith(prefix)),
        ("Outputs", RECORD_OUTPUTS.__contains__),
    ):
        if isinstance(t.get(part), dict):
            t[part] = {k: v for k, v in t[part].items() if not drop(k)}
            if not t[part]:  # jiti's record alone (the text sent), or none
                del t[part]
    for lid, resource in (t.get("Resources") or {}).items():
        if resource.get("Type") == FUNCTION and isinstance(resource.get("Properties"), dict):
            _function(resource["Properties"], lid, found)
    for entry in (t.get("Metadata") or {}).get(SITE_CONTENT_METADATA) or []:
        found["site"][entry.get("BucketOutput")] = entry.get("Asset")
        entry["Asset"] = SWAPPED
    if isinstance(t.get("Outputs"), dict):  # e.g. `<site>Content`: where the content came from
        t["Outputs"] = _without_keys(t["Outputs"], [k for k in found["site"].values() if k])
    return t, found


def _without_keys(value, keys: list[str]):
    """`value` with each asset key in its strings replaced by SWAPPED."""
    if isinstance(value, str):
        for key in keys:
            value = value.replace(key, SWAPPED)
        return value
    if isinstance(value, dict):
        return {k: _without_keys(v, keys) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_keys(v, keys) for v in value]
    return value


def _what_changed(old: dict, new: dict) -> str:
    """One line naming the first part that differs, e.g. `Table OrdersTable changed`."""
    old_r, new_r = old.get("Resources") or {}, new.get("Resources") or {}
    for lid in sorted(set(old_r) | set(new_r)):
        kind = (new_r.get(lid) or old_r.get(lid) or {}).get("Type", "resource").split("::")[-1]
        if lid not in old_r:
            return f"{kind} {lid} added"
        if lid not in new_r:
            return f"{kind} {lid} removed"
        if old_r[lid] != new_r[lid]:
            return f"{kind} {lid} changed"
    parts = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    return f"the template's {', '.join(parts)} changed"


def compare(old: dict, new: dict) -> Swap:
    """What a hotswap would change to make `old` (the live template) `new`; raises
    NotHotswappable naming what else differs."""
    old_t, old_found = normalized(old)
    new_t, new_found = normalized(new)
    if old_t != new_t:
        raise NotHotswappable(_what_changed(old_t, new_t))
    return Swap(
        code={k: v for k, v in new_found["code"].items() if old_found["code"].get(k) != v},
        environment={
            k: v
            for k, v in new_found["environment"].items()
            if old_found["environment"].get(k) != v
        },
        site={
            k: (old_found["site"].get(k), v)
            for k, v in new_found["site"].items()
            if old_found["site"].get(k) != v
        },
    )


def live_template(cfn, stack_name: str) -> dict:
    """The template CloudFormation holds, as it was sent (not with transforms applied)."""
    body = cfn.get_template(StackName=stack_name, TemplateStage="Original")["TemplateBody"]
    return body if isinstance(body, dict) else json.loads(body)


def check_live(current, config_hash: str) -> None:
    """What the stack itself must be for a hotswap: deployed, settled, same settings."""
    if current is None:
        raise NotHotswappable("the stack is new")
    if current.status not in STABLE:
        raise NotHotswappable(f"the stack is {current.status}")
    if current.record.get(CONFIG_OUTPUT) != config_hash:
        raise NotHotswappable("the deployment's settings or input values changed")


def refusal(
    deployment, *, protected: tuple[str, ...], in_ci: bool, allow_in_ci: bool
) -> str | None:
    """Why `deployment` may never be hotswapped (checked before any call), or None."""
    plan = deployment.plan
    if plan.environment in protected:
        return (
            f"{deployment.address}: hotswap refused: environment {plan.environment!r} is in "
            "[jiti].protected_environments; deploy it without --jiti-hotswap"
        )
    if plan.stack_set:
        return (
            f"{deployment.address}: hotswap refused: a StackSet deploys through CloudFormation only"
        )
    if in_ci and not allow_in_ci:
        return (
            f"{deployment.address}: hotswap refused: CI is set (a CI deploy goes through "
            "CloudFormation); set [jiti].hotswap_in_ci to allow it"
        )
    return None
