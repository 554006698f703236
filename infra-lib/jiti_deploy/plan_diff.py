"""The resource changes of an update, computed here, without a change set, as CloudFormation
would list them: each resource added, modified or removed, each changed property, and whether
it replaces the resource (the registry schema's create-only properties).

Rules CloudFormation follows and this keeps:
- outputs are no resource: a change to them alone (jiti's record) lists nothing;
- a change to the stack's own tags modifies every taggable resource, in scope `Tags`;
- a property whose new value CloudFormation only knows while it updates (a reference to a
  resource that is replaced, an attribute of a modified one, a dynamic reference
  `{{resolve:...}}`, `Fn::ImportValue`, a value jiti cannot read) replaces `Conditional`ly, not
  surely. One exception, where a change set says `Dynamic` but nothing can change: a `Ref` to,
  or the `Arn` of, a resource modified without replacement (its physical id stays).
"""

from __future__ import annotations

import json
from typing import Callable, Mapping

from jiti_deploy import plan_conditions
from jiti_deploy.schemas import TypeSchema

# Resource attributes besides Properties a change can touch (ResourceChange `Scope`).
ATTRIBUTES = ("Metadata", "CreationPolicy", "UpdatePolicy", "DeletionPolicy", "UpdateReplacePolicy")
UNKNOWN = "(known once deployed)"
# The attributes a resource keeps while it is modified without replacement: built from its
# physical id, which only a replacement changes.
STABLE = ("Arn",)


def _text(value) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def resolved(value, parameters: Mapping[str, str]):
    """`value` with each `Ref` to a parameter in `parameters`, and each `${Name}` of a `Sub`,
    replaced by the parameter's value."""
    if isinstance(value, dict):
        if set(value) == {"Ref"} and value["Ref"] in parameters:
            return parameters[value["Ref"]]
        if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
            text = value["Fn::Sub"]
            for name, v in parameters.items():
                text = text.replace("${" + name + "}", str(v))
            return {"Fn::Sub": text} if "${" in text else text
        return {k: resolved(v, parameters) for k, v in value.items()}
    if isinstance(value, list):
        return [resolved(v, parameters) for v in value]
    return value


def _names(value) -> tuple[set[str], set[tuple[str, str]]]:
    """Each name a `Ref` or a Sub's `${Name}` in `value` reads, and each (resource, attribute) a
    `Fn::GetAtt` or a Sub's `${Name.Attr}` reads."""
    refs: set[str] = set()
    reads: set[tuple[str, str]] = set()
    if isinstance(value, dict):
        if isinstance(value.get("Ref"), str):
            refs.add(value["Ref"])
        attr = value.get("Fn::GetAtt")
        if isinstance(attr, list) and attr:
            reads.add((str(attr[0]), str(attr[1]) if len(attr) > 1 else ""))
        elif isinstance(attr, str):
            reads.add((*attr.split(".", 1), "")[:2])
        sub = value.get("Fn::Sub")
        text = sub if isinstance(sub, str) else (sub[0] if isinstance(sub, list) and sub else "")
        if isinstance(text, str):
            for part in text.split("${")[1:]:
                target = part.split("}")[0]
                if "." in target:
                    reads.add(tuple(target.split(".", 1)))
                else:
                    refs.add(target)
        children = list(value.values())
    else:
        children = value if isinstance(value, list) else []
    for child in children:
        more_refs, more_reads = _names(child)
        refs |= more_refs
        reads |= more_reads
    return refs, reads


def dynamic(value) -> bool:
    """CloudFormation resolves `value` only while it deploys (dynamic references, imports)."""
    text = json.dumps(value)
    return "{{resolve:" in text or "Fn::ImportValue" in text


def _at(value, path: tuple[str, ...]):
    for key in path:
        if key == "*":
            return value  # any element: the whole value decides
        if isinstance(value, dict):
            value = value.get(key)
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return None
    return value


class Stacks:
    """The two sides of an update: templates and parameter values (those jiti cannot know, a
    NoEcho value or a pending input, left out of `*_parameters` and named in `unknown`)."""

    def __init__(self, old: Mapping, new: Mapping, old_parameters, new_parameters, unknown=()):
        self.old_template, self.new_template = old, new
        self.old_parameters, self.new_parameters = dict(old_parameters), dict(new_parameters)
        self.unknown = set(unknown)
        self.old_conditions = plan_conditions.evaluate(old, self.old_parameters)
        self.new_conditions = plan_conditions.evaluate(new, self.new_parameters)
        self.old = plan_conditions.present(old.get("Resources") or {}, self.old_conditions)
        self.new = plan_conditions.present(new.get("Resources") or {}, self.new_conditions)

    def old_value(self, lid: str, name: str):
        """A property's value as the live stack has it: conditions decided, parameters filled."""
        return self._value(self.old[lid], name, self.old_conditions, self.old_parameters)

    def new_value(self, lid: str, name: str):
        return self._value(self.new[lid], name, self.new_conditions, self.new_parameters)

    @staticmethod
    def _value(resource: Mapping, name: str, conditions, parameters):
        value = plan_conditions.chosen((resource.get("Properties") or {}).get(name), conditions)
        return None if value is plan_conditions.NO_VALUE else resolved(value, parameters)


def _detail(name, attribute, before, after, replacement, source) -> dict:
    return {
        "property": name or attribute,
        "attribute": attribute,
        "before": _text(before),
        "after": _text(after),
        "replacement": replacement,
        "change_source": source,
    }


def _property(stacks: Stacks, lid: str, name: str, schema: TypeSchema, changed: dict):
    """The detail of one property of a kept resource, or None when it does not change.
    `changed`: the resources modified so far, by logical id, with their replacement. A value
    that names a replaced resource (Ref) or an attribute of a modified one (GetAtt) changes
    with it, as CloudFormation only learns while it updates."""
    old_props = stacks.old[lid].get("Properties") or {}
    new_props = stacks.new[lid].get("Properties") or {}
    before, after = stacks.old_value(lid, name), stacks.new_value(lid, name)
    paths = schema.create_only_paths(name)
    if before != after:
        same_text = old_props.get(name) == new_props.get(name)
        source = "ParameterReference" if same_text else "DirectModification"
        hit = any(_at(before, p) != _at(after, p) for p in paths)
        sure = schema.known and not dynamic(after)
        replacement = ("Always" if sure else "Conditional") if hit else "Never"
    else:
        refs, reads = _names(after)
        replaced = {r for r, how in changed.items() if how in ("True", "Conditional")}
        if refs & stacks.unknown:
            source = "ParameterReference"
        elif refs & replaced:
            source = "ResourceReference"
        elif any(n in replaced or (n in changed and a not in STABLE) for n, a in reads):
            source = "ResourceAttribute"
        else:
            return None
        replacement = "Conditional" if paths else "Never"
    if not schema.known:
        replacement = "Conditional"
    return _detail(name, "Properties", before, after, replacement, source)


def _modification(stacks: Stacks, lid: str, schema: TypeSchema, changed: dict) -> list[dict]:
    old, new = stacks.old[lid], stacks.new[lid]
    if old.get("Type") != new.get("Type"):
        return [
            _detail(
                "Type",
                "Properties",
                old.get("Type"),
                new.get("Type"),
                "Always",
                "DirectModification",
            )
        ]
    names = set(old.get("Properties") or {}) | set(new.get("Properties") or {})
    details = [d for n in sorted(names) if (d := _property(stacks, lid, n, schema, changed))]
    for attribute in ATTRIBUTES:
        if old.get(attribute) != new.get(attribute):
            details.append(
                _detail(
                    None,
                    attribute,
                    old.get(attribute),
                    new.get(attribute),
                    "Never",
                    "DirectModification",
                )
            )
    return details


def _replacement(details: list[dict]) -> str:
    found = {d["replacement"] for d in details}
    if "Always" in found:
        return "True"
    return "Conditional" if "Conditional" in found else "False"


def compute(
    stacks: Stacks, schema_of: Callable[[str], TypeSchema], *, tags_changed: bool
) -> list[dict]:
    """Every resource change, by logical id. Modifications spread to the resources that refer
    to a changed one, until nothing more changes."""
    changes: dict[str, dict] = {}
    for lid in sorted(set(stacks.new) - set(stacks.old)):
        changes[lid] = _change(lid, stacks.new[lid].get("Type", "?"), "Add", "False", [])
    for lid in sorted(set(stacks.old) - set(stacks.new)):
        changes[lid] = _change(lid, stacks.old[lid].get("Type", "?"), "Remove", "False", [])
    kept = sorted(set(stacks.old) & set(stacks.new))
    for _ in range(len(kept) + 2):  # each round adds a resource, or ends
        changed = {lid: c["replacement"] for lid, c in changes.items() if c["action"] == "Modify"}
        found = {}
        for lid in kept:
            details = _modification(
                stacks, lid, schema_of(stacks.new[lid].get("Type", "")), changed
            )
            if details:
                found[lid] = _change(
                    lid, stacks.new[lid]["Type"], "Modify", _replacement(details), details
                )
        if {k: v["replacement"] for k, v in found.items()} == changed:
            break
        changes = {lid: c for lid, c in changes.items() if c["action"] != "Modify"} | found
    if tags_changed:
        _tag(changes, stacks, kept, schema_of)
    return [changes[lid] for lid in sorted(changes)]


def _tag(changes: dict, stacks: Stacks, kept: list[str], schema_of) -> None:
    """The stack's tags changed: each taggable resource kept is modified in its tags."""
    for lid in kept:
        kind = stacks.new[lid].get("Type", "")
        if not schema_of(kind).taggable:
            continue
        change = changes.setdefault(lid, _change(lid, kind, "Modify", "False", []))
        change["details"].append(_detail(None, "Tags", None, None, "Never", "DirectModification"))
        change["scope"] = sorted({*change["scope"], "Tags"})


def _change(lid: str, kind: str, action: str, replacement: str, details: list[dict]) -> dict:
    return {
        "logical_id": lid,
        "type": kind,
        "action": action,
        "replacement": replacement if action == "Modify" else "False",
        "scope": sorted({d["attribute"] for d in details}),
        "details": details,
    }


def hide(changes: list[dict], derived: set[tuple[str, str]], mask: str) -> list[dict]:
    """Each value of a property built from a NoEcho parameter hidden whole."""
    for change in changes:
        for d in change["details"]:
            if (change["logical_id"], d["property"]) in derived:
                d["before"] = None if d["before"] is None else mask
                d["after"] = None if d["after"] is None else mask
    return changes


def kept_outputs(stacks: Stacks, changes: list[dict], live: Mapping) -> dict:
    """The live outputs an update leaves as they are: the same expression in both templates,
    naming only pseudo parameters, parameters whose values stay, and resources that keep their
    physical id (unchanged, or modified without replacement: a `Ref` or an `Arn`).
    CloudFormation keeps a resource's physical id unless the update replaces it ("Update
    behaviors of stack resources", CloudFormation User Guide)."""
    by_id = {c["logical_id"]: c for c in changes}
    old_outputs = stacks.old_template.get("Outputs") or {}
    new_outputs = stacks.new_template.get("Outputs") or {}
    kept = {}
    for name, spec in new_outputs.items():
        if name in live and old_outputs.get(name) == spec and isinstance(spec, dict):
            if _stays(stacks, *_names(spec.get("Value")), by_id):
                kept[name] = live[name]
    return kept


def _stays(stacks: Stacks, refs: set, reads: set, by_id: dict) -> bool:
    for name in refs | {n for n, _ in reads}:
        if name in stacks.new:
            change = by_id.get(name)
            if change is None:
                continue
            if change["action"] != "Modify" or change["replacement"] != "False":
                return False
            if any(a not in STABLE for n, a in reads if n == name):
                return False
        elif name.startswith("AWS::"):
            continue  # the same stack's account, region, name and partition
        elif name in stacks.unknown or name not in stacks.new_parameters:
            return False  # a NoEcho value, a pending input, or not a parameter at all
        elif stacks.old_parameters.get(name) != stacks.new_parameters[name]:
            return False
    return True
