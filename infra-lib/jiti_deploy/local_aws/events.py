"""Stack events as CloudFormation writes them (fix 20 of `fidelity`).

moto writes only the stack's own events (a new stack of 60 queues gets 3) and answers
DescribeStackEvents with all of them at once. CloudFormation writes an event for each state
change of each resource, and pages them, newest first, 100 at a time:
- create: CREATE_IN_PROGRESS, CREATE_IN_PROGRESS "Resource creation Initiated" (with the
  physical id), CREATE_COMPLETE;
- update: UPDATE_IN_PROGRESS, UPDATE_COMPLETE for a changed resource; then the stack's
  UPDATE_COMPLETE_CLEANUP_IN_PROGRESS, and DELETE_IN_PROGRESS, DELETE_COMPLETE for each
  resource the update removed;
- delete: DELETE_IN_PROGRESS, DELETE_COMPLETE, or DELETE_SKIPPED for a resource kept.
"""

from __future__ import annotations

from moto.cloudformation import models, parsing, responses
from moto.cloudformation.exceptions import ValidationError

PAGE_SIZE = 100
CREATED = ("CREATE_IN_PROGRESS", None), ("CREATE_IN_PROGRESS", "Resource creation Initiated")


def record(
    stack,
    logical_id: str,
    resource_type: str,
    status: str,
    reason: str | None = None,
    physical_id: str = "",
) -> None:
    """One resource's event, after the stack's others."""
    stack.events.append(
        models.Event(
            stack_id=stack.stack_id,
            stack_name=stack.name,
            logical_resource_id=logical_id,
            physical_resource_id=physical_id,
            resource_type=resource_type,
            resource_status=status,
            resource_status_reason=reason,
            resource_properties=None,
        )
    )


def deleted(stack, logical_id: str, resource_type: str, physical_id: str, *, kept: bool) -> None:
    """The events of a resource deleted, or kept by its deletion policy."""
    if kept:
        record(stack, logical_id, resource_type, "DELETE_SKIPPED", physical_id=physical_id)
        return
    for status in ("DELETE_IN_PROGRESS", "DELETE_COMPLETE"):
        record(stack, logical_id, resource_type, status, physical_id=physical_id)


def physical_id(resource) -> str:
    try:
        return str(getattr(resource, "physical_resource_id", "") or "")
    except Exception:  # noqa: BLE001 - some moto models cannot say before they are complete
        return ""


def _stack_of(resource_map):
    backend = models.cloudformation_backends[resource_map._account_id][resource_map._region_name]
    return backend.stacks.get(resource_map.stack_id)


def _report_creates(original):
    def create(logical_id, resource_json, resources_map, account_id, region_name):
        stack, kind = _stack_of(resources_map), resource_json.get("Type", "?")
        try:
            resource = original(logical_id, resource_json, resources_map, account_id, region_name)
        except Exception:
            if stack is not None:  # the failure itself is reported by fix 5
                record(stack, logical_id, kind, "CREATE_IN_PROGRESS")
            raise
        if stack is not None and resource is not None:
            made = physical_id(resource)
            for status, reason in CREATED:
                record(stack, logical_id, kind, status, reason, made if reason else "")
            record(stack, logical_id, kind, "CREATE_COMPLETE", physical_id=made)
        return resource

    return create


def _report_updates(original):
    def update(logical_id, resource_json, resources_map, account_id, region_name):
        resource = original(logical_id, resource_json, resources_map, account_id, region_name)
        stack, kind = _stack_of(resources_map), resource_json.get("Type", "?")
        if stack is not None and resource is not None:
            for status in ("UPDATE_IN_PROGRESS", "UPDATE_COMPLETE"):
                record(stack, logical_id, kind, status, physical_id=physical_id(resource))
        return resource

    return update


def _report_cleanup(original):
    def update(self, template, parameters=None):
        """After an update's creates and changes, the stack's cleanup and the removals; a
        stack's first template (a CREATE change set) has nothing to clean up."""
        stack, before = _stack_of(self), dict(self._resource_json_map)
        removed = [
            (k, v.get("Type", "?"), physical_id(self._parsed_resources.get(k)))
            for k, v in before.items()
            if k not in template.get("Resources", {})
        ]
        original(self, template, parameters)
        if stack is None or not before:
            return
        started = [e for e in stack.events if e.resource_type == stack.cloudformation_type()]
        if started and started[-1].resource_status == "UPDATE_IN_PROGRESS":
            started[-1].resource_status_reason = "User Initiated"
        stack._add_stack_event("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
        for logical_id, kind, made in removed:
            deleted(stack, logical_id, kind, made, kept=False)  # moto deletes them all

    return update


def _page_start(newest_first: list, token: str | None) -> int:
    """Where the page after `token` (the id of the last event sent) starts: a token names an
    event, so events written between two pages never shift the next one."""
    if not token:
        return 0
    for i, event in enumerate(newest_first):
        if str(event.event_id) == token:
            return i + 1
    raise ValidationError(message=f"Invalid NextToken: {token}")


def _describe_stack_events(self):
    stack_name = self._get_param("StackName")
    newest_first = self.cloudformation_backend.describe_stack_events(stack_name)[::-1]
    start = _page_start(newest_first, self._get_param("NextToken"))
    page = newest_first[start : start + PAGE_SIZE]
    result = {"StackEvents": page}
    if start + PAGE_SIZE < len(newest_first):
        result["NextToken"] = str(page[-1].event_id)
    return responses.ActionResult(result)


def apply() -> None:
    parsing.parse_and_create_resource = _report_creates(parsing.parse_and_create_resource)
    parsing.parse_and_update_resource = _report_updates(parsing.parse_and_update_resource)
    parsing.ResourceMap.update = _report_cleanup(parsing.ResourceMap.update)
    responses.CloudFormationResponse.describe_stack_events = _describe_stack_events
