"""The changes of a plan that widen access, flagged for a reviewer: IAM statements that allow
new actions, any resource (`*`) or new principals (identity policies, role trust policies,
bucket, queue, topic and key resource policies), new Lambda permissions, security group ingress
opened, an S3 public access block loosened or removed, a KMS key policy changed.

Only what the templates say is compared (a policy's text, before and after); each flag names the
resource's logical id, a kind and what widened.
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any, Iterable

OPEN_CIDRS = ("0.0.0.0/0", "::/0")
PUBLIC_ACCESS_FLAGS = (
    "BlockPublicAcls",
    "BlockPublicPolicy",
    "IgnorePublicAcls",
    "RestrictPublicBuckets",
)
# Resource type -> the property holding its policy document (identity or resource policy).
DOCUMENTS = {
    "AWS::IAM::Policy": "PolicyDocument",
    "AWS::IAM::ManagedPolicy": "PolicyDocument",
    "AWS::S3::BucketPolicy": "PolicyDocument",
    "AWS::SQS::QueuePolicy": "PolicyDocument",
    "AWS::SNS::TopicPolicy": "PolicyDocument",
    "AWS::KMS::Key": "KeyPolicy",
}
WITH_INLINE_POLICIES = ("AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _listed(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _principals(principal) -> set[str]:
    if principal is None:
        return set()
    if not isinstance(principal, dict) or set(principal) - {
        "AWS",
        "Service",
        "Federated",
        "CanonicalUser",
    }:
        return {_text(principal)}
    return {f"{kind}:{_text(p)}" for kind, value in principal.items() for p in _listed(value)}


def grants(document) -> dict[str, set[str]]:
    """What a policy document's Allow statements grant: actions, resources, principals, and
    the negated forms (NotAction, NotResource, NotPrincipal) that grant all but some."""
    found: dict[str, set[str]] = {
        k: set() for k in ("actions", "resources", "principals", "negated")
    }
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return found
    if not isinstance(document, dict):
        return found
    for statement in _listed(document.get("Statement")):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        found["actions"] |= {_text(a) for a in _listed(statement.get("Action"))}
        found["resources"] |= {_text(r) for r in _listed(statement.get("Resource"))}
        found["principals"] |= _principals(statement.get("Principal"))
        found["negated"] |= {
            k for k in ("NotAction", "NotResource", "NotPrincipal") if k in statement
        }
    return found


def _uncovered(new: set[str], old: set[str]) -> list[str]:
    """What `new` holds that no pattern of `old` covers (IAM's wildcards, actions any case)."""
    return sorted(
        n for n in new - old if not any(fnmatch.fnmatchcase(n.lower(), o.lower()) for o in old)
    )


def widened(old_document, new_document, *, trust: bool = False) -> list[tuple[str, str]]:
    """(kind, what) for each way `new_document` grants more than `old_document` (of a trust
    policy, only who it trusts)."""
    old, new = grants(old_document), grants(new_document)
    found = []
    actions = [] if trust else _uncovered(new["actions"], old["actions"])
    if actions:
        found.append(("iam-actions", f"allows new actions: {', '.join(actions)}"))
    if not trust and "*" in _uncovered(new["resources"], old["resources"]):
        found.append(("iam-any-resource", "allows actions on any resource (*)"))
    principals = sorted(new["principals"] - old["principals"])
    if principals:
        kind = "trust-principal" if trust else "new-principal"
        found.append(
            (
                kind,
                f"{'trusts' if trust else 'grants access to'} new principals: {', '.join(principals)}",
            )
        )
    negated = sorted(new["negated"] - old["negated"])
    if negated:
        found.append(("iam-negated", f"allows by exclusion: {', '.join(negated)}"))
    return found


def _inline(properties: dict) -> dict[str, Any]:
    return {
        _text(p.get("PolicyName")): p.get("PolicyDocument")
        for p in _listed(properties.get("Policies"))
        if isinstance(p, dict)
    }


def _identity(old: dict, new: dict) -> list[tuple[str, str]]:
    """A role's, user's or group's trust policy, inline policies and managed policies."""
    found = widened(
        old.get("AssumeRolePolicyDocument"), new.get("AssumeRolePolicyDocument"), trust=True
    )
    before, after = _inline(old), _inline(new)
    for name in sorted(after):
        found += [(k, f"policy {name} {w}") for k, w in widened(before.get(name), after[name])]
    managed = sorted(
        {_text(a) for a in _listed(new.get("ManagedPolicyArns"))}
        - {_text(a) for a in _listed(old.get("ManagedPolicyArns"))}
    )
    if managed:
        found.append(("managed-policy", f"attaches managed policies: {', '.join(managed)}"))
    return found


def _ingress(rules: Iterable) -> set[str]:
    return {_text(r) for r in rules if isinstance(r, dict)}


def _open(rule: str) -> bool:
    return any(cidr in rule for cidr in OPEN_CIDRS)


def _security_group(old: dict, new: dict) -> list[tuple[str, str]]:
    added = sorted(
        _ingress(_listed(new.get("SecurityGroupIngress")))
        - _ingress(_listed(old.get("SecurityGroupIngress")))
    )
    return [
        ("ingress", f"{'opens to the internet' if _open(r) else 'adds ingress'}: {r}")
        for r in added
    ]


def _ingress_rule(old: dict | None, new: dict) -> list[tuple[str, str]]:
    if old is not None and _text(old) == _text(new):
        return []
    rule = _text(new)
    return [("ingress", f"{'opens to the internet' if _open(rule) else 'adds ingress'}: {rule}")]


def _public_access(old: dict, new: dict) -> list[tuple[str, str]]:
    before, after = old.get("PublicAccessBlockConfiguration"), new.get(
        "PublicAccessBlockConfiguration"
    )
    if before is None:
        return []
    if after is None:
        return [("public-access-block", "public access block removed")]
    loosened = [
        f
        for f in PUBLIC_ACCESS_FLAGS
        if before.get(f) in (True, "true") and after.get(f) not in (True, "true")
    ]
    if loosened:
        return [("public-access-block", f"public access block loosened: {', '.join(loosened)} off")]
    return []


def _lambda_permission(old: dict | None, new: dict) -> list[tuple[str, str]]:
    keys = ("Action", "Principal", "SourceArn", "SourceAccount", "FunctionUrlAuthType")
    if old is not None and all(_text(old.get(k)) == _text(new.get(k)) for k in keys):
        return []
    what = ", ".join(f"{k} {_text(new[k])}" for k in keys if k in new)
    return [
        ("lambda-permission", f"{'new' if old is None else 'changed'} Lambda permission: {what}")
    ]


def _resource_flags(kind: str, old: dict | None, new: dict) -> list[tuple[str, str]]:
    before = old or {}
    if kind in WITH_INLINE_POLICIES:
        return _identity(before, new)
    if kind in DOCUMENTS:
        name = DOCUMENTS[kind]
        found = widened(before.get(name), new.get(name))
        if (
            kind == "AWS::KMS::Key"
            and old is not None
            and _text(before.get(name)) != _text(new.get(name))
        ):
            found.append(("kms-key-policy", "key policy changed"))
        return found
    if kind == "AWS::EC2::SecurityGroup":
        return _security_group(before, new)
    if kind in ("AWS::EC2::SecurityGroupIngress",):
        return _ingress_rule(old, new)
    if kind == "AWS::S3::Bucket":
        return _public_access(before, new)
    if kind == "AWS::Lambda::Permission":
        return _lambda_permission(old, new)
    return []


def flags(old_template: dict, new_template: dict) -> list[dict]:
    """Each widening between two templates (an empty `old_template`: a new stack)."""
    old_resources = old_template.get("Resources") or {}
    found = []
    for lid, resource in sorted((new_template.get("Resources") or {}).items()):
        if not isinstance(resource, dict):
            continue
        kind = resource.get("Type", "")
        before = old_resources.get(lid)
        old = (
            (before.get("Properties") or {})
            if isinstance(before, dict) and before.get("Type") == kind
            else None
        )
        for flag_kind, detail in _resource_flags(kind, old, resource.get("Properties") or {}):
            found.append({"logical_id": lid, "type": kind, "kind": flag_kind, "detail": detail})
    return found
