"""Make moto's CloudFormation behave like AWS for everything jiti relies on.

moto 5.2.5 differs from CloudFormation in ways that matter to a deploy tool:
1. a stack created or updated by ExecuteChangeSet gets no Outputs and registers no Exports;
2. resources added by a change set are created in template order, ignoring `DependsOn`
   (so an API Gateway Deployment can come before the Methods it depends on);
3. an UPDATE change set's tags are not put on the stack;
4. StackSet instance stacks are named `StackSet:<name>`, so names generated from the stack
   name are invalid for most resources; CloudFormation names them `StackSet-<name>-<uuid>`;
5. a resource that fails to create makes the API call itself fail, and the stack stays
   `*_IN_PROGRESS` forever, instead of the call succeeding and the stack ending in
   `ROLLBACK_COMPLETE` (create) or `UPDATE_ROLLBACK_COMPLETE` (update) with a
   `*_FAILED` event naming the resource and the reason.

`apply()` patches exactly these, in the local server process only; each fix has a test
that fails when moto's own behaviour changes (local_aws/fidelity_test.py).
"""

from __future__ import annotations

import uuid

from moto.cloudformation import models, parsing


class ResourceFailed(Exception):
    """A resource could not be created or updated; carries what the stack events report."""

    def __init__(self, logical_id: str, resource_type: str, reason: str):
        super().__init__(f"{logical_id} ({resource_type}): {reason}")
        self.logical_id = logical_id
        self.resource_type = resource_type
        self.reason = reason


def _name_the_failing_resource(original):
    def create(logical_id, resource_json, resources_map, account_id, region_name):
        try:
            return original(logical_id, resource_json, resources_map, account_id, region_name)
        except ResourceFailed:
            raise
        except Exception as e:  # moto raises whatever the service model raises
            reason = getattr(e, "message", None) or str(e) or type(e).__name__
            raise ResourceFailed(logical_id, resource_json.get("Type", "?"), reason) from e

    return create


def _resource_event(
    stack, logical_id: str, resource_type: str, status: str, reason: str | None = None
) -> None:
    stack.events.append(
        models.Event(
            stack_id=stack.stack_id,
            stack_name=stack.name,
            logical_resource_id=logical_id,
            physical_resource_id="",
            resource_type=resource_type,
            resource_status=status,
            resource_status_reason=reason,
            resource_properties=None,
        )
    )


def _execute_change_set_like_cloudformation(original):
    def execute_change_set(self, change_set_name, stack_name=None):
        change_set = self.describe_change_set(change_set_name)
        stack = self.stacks[change_set.stack_id]
        kind = change_set.change_set_type
        try:
            original(self, change_set_name, stack_name)
        except ResourceFailed as failure:
            _resource_event(
                stack,
                failure.logical_id,
                failure.resource_type,
                f"{kind}_FAILED",
                failure.reason,
            )
            change_set.execution_status = "EXECUTE_FAILED"
            if kind == "CREATE":
                stack._add_stack_event(
                    "ROLLBACK_IN_PROGRESS",
                    resource_status_reason=f"The following resource(s) failed to create: [{failure.logical_id}]. Rollback requested by user.",
                )
                try:
                    stack.resource_map.delete()
                except Exception:
                    pass  # what could not be created needs no deleting
                stack._add_stack_event("ROLLBACK_COMPLETE")
                stack.status = "ROLLBACK_COMPLETE"
            else:
                stack._add_stack_event(
                    "UPDATE_ROLLBACK_IN_PROGRESS",
                    resource_status_reason=f"The following resource(s) failed to update: [{failure.logical_id}].",
                )
                stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE")
                stack.status = "UPDATE_ROLLBACK_COMPLETE"
            return
        if change_set.tags is not None:
            stack.tags = change_set.tags
        # Outputs and exports, as CreateStack/UpdateStack would have set them.
        stack._parse_template()
        for export in stack.exports:
            self.exports.pop(export.name, None)
        stack.output_map = stack._create_output_map()
        self._validate_export_uniqueness(stack)
        for export in stack.exports:
            self.exports[export.name] = export

    return execute_change_set


def _depends_on_first(original):
    def build_resource_diff(self, template, parameters=None):
        diff = original(self, template, parameters)
        resources = template.get("Resources", {})
        added, ordered = list(diff["Add"]), []

        def visit(name, path=()):
            if name in ordered or name not in added or name in path:
                return
            depends = resources.get(name, {}).get("DependsOn", [])
            for dep in [depends] if isinstance(depends, str) else depends:
                visit(dep, (*path, name))
            ordered.append(name)

        for name in added:
            visit(name)
        diff["Add"] = ordered
        return diff

    return build_resource_diff


def _stack_set_instance_names_like_cloudformation(original):
    def create_stack(self, name, *args, **kwargs):
        if name.startswith("StackSet:"):
            name = f"StackSet-{name[len('StackSet:'):]}-{uuid.uuid4()}"
        return original(self, name, *args, **kwargs)

    return create_stack


_applied = False


def apply() -> None:
    global _applied
    if _applied:
        return
    parsing.parse_and_create_resource = _name_the_failing_resource(
        parsing.parse_and_create_resource
    )
    parsing.ResourceMap.build_resource_diff = _depends_on_first(
        parsing.ResourceMap.build_resource_diff
    )
    models.CloudFormationBackend.create_stack = _stack_set_instance_names_like_cloudformation(
        models.CloudFormationBackend.create_stack
    )
    models.CloudFormationBackend.execute_change_set = _execute_change_set_like_cloudformation(
        models.CloudFormationBackend.execute_change_set
    )
    _applied = True
