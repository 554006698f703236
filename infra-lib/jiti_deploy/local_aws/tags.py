"""A stack's tags reach its resources, as on CloudFormation (fix 22 of `fidelity`).

CloudFormation propagates a stack's tags (CreateChangeSet's and UpdateStack's `Tags`) to
every resource of the stack that supports tags. So an update that changes only the stack's
tags is not empty: its change set lists each taggable resource as `Modify`, `Scope: ["Tags"]`,
and executing it re-tags them. moto compares only templates and parameters: it refuses such an
update ("No updates are to be performed", or a change set that "didn't contain changes"),
lists no resource, and never puts the stack's tags on a resource.

Which types take tags is the CloudFormation registry's word (the schemas cfn-lint ships:
`tagging.taggable`, or a `Tags` property where a schema says nothing).
"""

from __future__ import annotations

import functools

from moto.cloudformation import models, responses

TAGS_DETAIL = {
    "Target": {"Attribute": "Tags", "RequiresRecreation": "Never"},
    "Evaluation": "Static",
    "ChangeSource": "DirectModification",
}


@functools.lru_cache(maxsize=None)
def taggable(resource_type: str, region: str = "us-east-1") -> bool:
    """The registry schema says the type takes tags (unknown and custom types do not)."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    try:
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource_type).schema
    except Exception:  # noqa: BLE001 - no schema: a custom or unknown type
        return False
    tagging = schema.get("tagging")
    if tagging is not None:
        return bool(tagging.get("taggable", True))
    return "Tags" in schema.get("properties", {})


def _changes_tags(old: dict | None, new: dict | None) -> bool:
    """An update given `new` tags (None: not given, so kept) changes the stack's."""
    return new is not None and dict(new) != dict(old or {})


def _tag_modifications(change_set) -> None:
    """Each taggable resource the update keeps is modified in its tags."""
    modified = {c.logical_resource_id: c for c in change_set.changes if c.action == "Modify"}
    others = {c.logical_resource_id for c in change_set.changes if c.action != "Modify"}
    resources = (change_set.template_dict or {}).get("Resources", {})
    old = change_set.stack.resource_map._resource_json_map
    for logical_id, resource in sorted(resources.items()):
        kind = resource.get("Type", "")
        if logical_id in others or logical_id not in old or not taggable(kind):
            continue
        change = modified.get(logical_id)
        if change is None:
            change = models.Change("Modify", logical_id, kind)
            change.replacement, change.scope, change.details = "False", [], []
            change_set.changes.append(change)
        change.scope = sorted({*(getattr(change, "scope", None) or []), "Tags"})
        change.details = [*(getattr(change, "details", None) or []), dict(TAGS_DETAIL)]
        change.replacement = getattr(change, "replacement", None) or "False"


def _list_tag_changes(original):
    def create_change_set(self, stack_name, change_set_name, *args, **kwargs):
        change_set_id, stack_id = original(self, stack_name, change_set_name, *args, **kwargs)
        change_set = self.change_sets[change_set_id]
        stack = self.stacks[stack_id]
        if change_set.change_set_type == "UPDATE" and _changes_tags(stack.tags, change_set.tags):
            _tag_modifications(change_set)
            if change_set.status == "FAILED":  # moto found no change in template or parameters
                change_set.status, change_set.status_reason = "CREATE_COMPLETE", None
                change_set.execution_status = "AVAILABLE"
        return change_set_id, stack_id

    return create_change_set


def _allow_tag_only_updates(original):
    def validate_different_update(self, incoming_params, stack_body, old_stack):
        given = self._get_param("Tags")
        tags = None if given is None else {t["Key"]: t["Value"] for t in given}
        if _changes_tags(old_stack.tags, tags):
            return None
        return original(self, incoming_params, stack_body, old_stack)

    return validate_different_update


def _set_tags(resource, wanted: dict, dropped: set) -> None:
    """Put `wanted` on a resource moto keeps its tags on (a dict or a Key/Value list)."""
    tags = getattr(resource, "tags", None)
    if isinstance(tags, dict):
        for key in dropped:
            tags.pop(key, None)
        tags.update(wanted)
    elif isinstance(tags, list):
        kept = [t for t in tags if t.get("Key") not in dropped and t.get("Key") not in wanted]
        tags[:] = kept + [{"Key": k, "Value": v} for k, v in sorted(wanted.items())]


def propagate(stack, before: dict) -> None:
    """The stack's tags on each of its taggable resources; tags the stack dropped are removed.
    A tag the template sets on the resource itself wins."""
    resource_map = stack.resource_map
    templates = resource_map._resource_json_map
    for logical_id, resource in list(resource_map._parsed_resources.items()):
        template = templates.get(logical_id)
        if not isinstance(template, dict) or not taggable(template.get("Type", "")):
            continue
        own = (template.get("Properties") or {}).get("Tags")
        own_keys = {t.get("Key") for t in own} if isinstance(own, list) else set(own or {})
        wanted = {k: v for k, v in (stack.tags or {}).items() if k not in own_keys}
        dropped = set(before or {}) - set(stack.tags or {}) - own_keys
        _set_tags(resource, wanted, dropped)


def _propagate_after(original, stack_of):
    def operation(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        stack = stack_of(self, result, *args, **kwargs)
        if (
            stack is not None
            and stack.status.endswith("_COMPLETE")
            and "ROLLBACK" not in stack.status
        ):
            propagate(stack, getattr(stack, "_jiti_propagated", {}))
            stack._jiti_propagated = dict(stack.tags or {})
        return result

    return operation


def _executed_stack(backend, _result, change_set_name, stack_name=None):
    change_set = backend.describe_change_set(change_set_name)
    return backend.stacks.get(change_set.stack_id)


def apply() -> None:
    backend = models.CloudFormationBackend
    backend.create_change_set = _list_tag_changes(backend.create_change_set)
    response = responses.CloudFormationResponse
    response._validate_different_update = _allow_tag_only_updates(
        response._validate_different_update
    )
    backend.execute_change_set = _propagate_after(backend.execute_change_set, _executed_stack)
    for name in ("create_stack", "update_stack"):
        setattr(backend, name, _propagate_after(getattr(backend, name), lambda b, r, *a, **k: r))
