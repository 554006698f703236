"""Nested stacks as CloudFormation makes them (fix 21 of `fidelity`).

moto creates the stack of an `AWS::CloudFormation::Stack` resource as if it were a top-level
stack: DescribeStacks shows no `ParentId`, no `RootId`, and none of the parent's tags.
CloudFormation sets both ids, and the parent's stack-level tags propagate to it as to any
resource that takes tags, so a nested stack carries its top-level stack's ownership tags.
"""

from __future__ import annotations

from moto.cloudformation import models


def _propagate(backend, root_id: str) -> None:
    """Each nested stack under `root_id` takes its parent's tags, parents first."""
    nested = [s for s in backend.stacks.values() if getattr(s, "root_id", None) == root_id]
    for stack in sorted(nested, key=lambda s: s.creation_time):
        parent = backend.stacks.get(stack.parent_id)
        if parent is not None:
            stack.tags = dict(parent.tags)


def _nest(nested, parent, backend) -> None:
    """`nested` is `parent`'s; the stacks it nests (made before it was known to be nested)
    belong to its root too."""
    nested.parent_id = parent.stack_id
    nested.root_id = getattr(parent, "root_id", None) or parent.stack_id
    for stack in backend.stacks.values():
        if getattr(stack, "root_id", None) == nested.stack_id:
            stack.root_id = nested.root_id
    _propagate(backend, nested.root_id)


def _created_nested(original):
    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        nested = original(resource_name, cloudformation_json, account_id, region_name, **kwargs)
        backend = models.cloudformation_backends[account_id][region_name]
        parent = backend.stacks.get(kwargs.get("StackId"))
        if parent is not None:
            _nest(nested, parent, backend)
        return nested

    return create


def _updated_nested(original):
    def update(
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
    ):
        """moto replaces a changed nested stack without saying whose it is: the old one knew."""
        nested = original(
            original_resource=original_resource,
            new_resource_name=new_resource_name,
            cloudformation_json=cloudformation_json,
            account_id=account_id,
            region_name=region_name,
        )
        backend = models.cloudformation_backends[account_id][region_name]
        parent = backend.stacks.get(getattr(original_resource, "parent_id", None))
        if parent is not None:
            _nest(nested, parent, backend)
        return nested

    return update


def _tags_reach_nested_stacks(original):
    def execute_change_set(self, change_set_name, stack_name=None):
        """The tags a change set puts on its stack reach the stack's nested stacks."""
        stack_id = self.describe_change_set(change_set_name).stack_id
        result = original(self, change_set_name, stack_name)
        stack = self.stacks.get(stack_id)
        if stack is not None:
            _propagate(self, getattr(stack, "root_id", None) or stack.stack_id)
        return result

    return execute_change_set


def apply() -> None:
    stack = models.Stack
    stack.create_from_cloudformation_json = classmethod(
        _created_nested(stack.create_from_cloudformation_json)
    )
    stack.update_from_cloudformation_json = classmethod(
        _updated_nested(stack.update_from_cloudformation_json)
    )
    backend = models.CloudFormationBackend
    backend.execute_change_set = _tags_reach_nested_stacks(backend.execute_change_set)
