"""The capabilities a deployment acknowledges: only those its template needs.

CloudFormation's CreateChangeSet/CreateStack API reference (`Capabilities`): a template with IAM
resources needs `CAPABILITY_IAM`, and `CAPABILITY_NAMED_IAM` when one of them has a custom name;
a template with macros (`Transform`, `Fn::Transform`) is expanded by CloudFormation, and creating
or updating a stack from it directly needs `CAPABILITY_AUTO_EXPAND`. Acknowledging more than the
template needs would let a later change add named IAM resources or macros unnoticed, so the
`capabilities` field is the most a deployment may acknowledge, not what it always does.
"""

from __future__ import annotations

import json
from typing import Any

from jiti_deploy.deployment import Deployment
from jiti_deploy.errors import DeployError

IAM, NAMED_IAM, AUTO_EXPAND = "CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"
# The property giving each IAM resource type its custom name.
NAME_PROPERTIES = {
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::User": "UserName",
    "AWS::IAM::Group": "GroupName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::IAM::InstanceProfile": "InstanceProfileName",
}
# Resources whose final template CloudFormation alone knows (a nested stack's template).
OPAQUE_TYPES = ("AWS::CloudFormation::Stack",)


def _has_inline_macro(node: Any) -> bool:
    if isinstance(node, dict):
        return "Fn::Transform" in node or any(_has_inline_macro(v) for v in node.values())
    if isinstance(node, list):
        return any(_has_inline_macro(v) for v in node)
    return False


def needed(template: dict) -> tuple[str, ...] | None:
    """What `template` needs acknowledged, sorted; None when only CloudFormation can tell (a
    macro or a nested stack may add any resource)."""
    resources = {k: r for k, r in (template.get("Resources") or {}).items() if isinstance(r, dict)}
    kinds = [r.get("Type", "") for r in resources.values()]
    if template.get("Transform") or _has_inline_macro(template) or set(kinds) & set(OPAQUE_TYPES):
        return None
    iam = [r for r in resources.values() if r.get("Type", "").startswith("AWS::IAM::")]
    if any((r.get("Properties") or {}).get(NAME_PROPERTIES.get(r["Type"], "")) for r in iam):
        return (NAMED_IAM,)  # it covers unnamed IAM resources too
    return (IAM,) if iam else ()


def acknowledged(deployment: Deployment) -> tuple[str, ...]:
    """The capabilities to pass to CloudFormation: what the template needs, refused in one
    line when the deployment's `capabilities` field does not allow it. A template with macros or
    nested stacks gets every capability the field allows, and one with a transform
    `CAPABILITY_AUTO_EXPAND` too (CloudFormation refuses to expand it without)."""
    allowed = tuple(sorted(deployment.plan.capabilities))
    template = json.loads(deployment.template_path.read_text())
    wanted = needed(template)
    if wanted is None:
        transform = template.get("Transform") or _has_inline_macro(template)
        return (*allowed, AUTO_EXPAND) if transform and AUTO_EXPAND not in allowed else allowed
    if wanted == (IAM,) and IAM not in allowed and NAMED_IAM in allowed:
        wanted = (NAMED_IAM,)  # either one acknowledges unnamed IAM resources
    missing = [c for c in wanted if c not in allowed]
    if missing:
        raise DeployError(
            f"{deployment.address}: field `capabilities`: the template needs "
            f"{', '.join(missing)}, which the field does not allow (it allows "
            f"{', '.join(allowed) or 'none'})"
        )
    return wanted
