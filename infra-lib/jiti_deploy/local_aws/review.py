"""Change sets and the stacks they belong to, as CloudFormation keeps them (fix 16 of `fidelity`).

- A stack made by a CREATE change set (`REVIEW_IN_PROGRESS`) has no tags until the change set
  is executed (then it has them, even if the create fails); moto copies them onto it at once.
- `ListChangeSets` lists the named stack's change sets only; moto lists every stack's.
- Executing a change set deletes the stack's other change sets; moto keeps them.
- A change set made before another operation updated its stack is `OBSOLETE`; executing a
  change set that is not `AVAILABLE` fails with `InvalidChangeSetStatus`; moto executes it.
- DescribeChangeSet gives the change set's tags; moto gives none.
- A change set that does not exist (deleted, or removed by executing another) is
  `ChangeSetNotFound`; moto fails with a server error or a `ValidationError`.
- DeleteChangeSet by name, with the `StackName` of a stack that exists, succeeds whether or not
  the stack has such a change set (the CDK CLI deletes its change set's name before each
  `cdk diff` and `cdk deploy`); moto fails with a server error.

Fix 24: a stack that has been updated (UpdateStack, or an UPDATE change set executed) has a
`LastUpdatedTime`, the time of its last update, which a reviewed plan checks to see that the
stack did not move; moto never sets it.
"""

from __future__ import annotations

from moto.cloudformation import models, responses
from moto.cloudformation.exceptions import CloudFormationError
from moto.cloudformation.responses import transform_dict
from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow


class ChangeSetNotFound(CloudFormationError):
    code = "ChangeSetNotFoundException"

    def __init__(self, name: str):
        super().__init__(f"ChangeSet [{name}] does not exist")


class InvalidChangeSetStatus(CloudFormationError):
    code = "InvalidChangeSetStatusException"

    def __init__(self, change_set):
        status = "FAILED" if change_set.status == "FAILED" else change_set.execution_status
        super().__init__(
            f"ChangeSet [{change_set.change_set_id}] cannot be executed in its current status "
            f"of [{status}]"
        )


def _find(backend, name: str):
    """The change set named `name` (its id or its name), or ChangeSetNotFound."""
    found = backend.change_sets.get(name)
    if found is None:
        found = next((c for c in backend.change_sets.values() if c.change_set_name == name), None)
    if found is None:
        raise ChangeSetNotFound(name)
    return found


def _untag_until_executed(original):
    def create_change_set(self, *args, **kwargs):
        change_set_id, stack_id = original(self, *args, **kwargs)
        stack = self.stacks[stack_id]
        if stack.status == "REVIEW_IN_PROGRESS":
            stack.tags = {}
        return change_set_id, stack_id

    return create_change_set


def _execute_available_only(original):
    def execute_change_set(self, change_set_name, stack_name=None):
        change_set = _find(self, change_set_name)
        if change_set.execution_status != "AVAILABLE":
            raise InvalidChangeSetStatus(change_set)
        stack = self.stacks[change_set.stack_id]
        if stack.status == "REVIEW_IN_PROGRESS" and change_set.tags is not None:
            stack.tags = change_set.tags  # from the start: a failed create keeps them too
        if change_set.change_set_type == "UPDATE":
            stack.last_updated_time = utcnow()  # fix 24
        original(self, change_set.change_set_id, stack_name)
        for key, other in list(self.change_sets.items()):
            if other is not change_set and other.stack_id == change_set.stack_id:
                del self.change_sets[key]

    return execute_change_set


def _obsolete_after_update(original):
    def update_stack(self, name, *args, **kwargs):
        stack = original(self, name, *args, **kwargs)
        for change_set in self.change_sets.values():
            if change_set.stack_id == stack.stack_id and change_set.execution_status == "AVAILABLE":
                change_set.execution_status = "OBSOLETE"
        return stack

    return update_stack


def _describe_or_not_found(original):
    def describe_change_set(self, change_set_name):
        return original(self, _find(self, change_set_name).change_set_id)

    return describe_change_set


def _delete_or_not_found(original):
    def delete_change_set(self, change_set_name):
        return original(self, _find(self, change_set_name).change_set_id)

    return delete_change_set


def _delete_change_set(original):
    def delete_change_set(self) -> ActionResult:
        """By name: the named stack's change set of that name, if it has one (moto looks the
        name up across every stack)."""
        backend = self.cloudformation_backend
        name, stack = self._get_param("ChangeSetName"), self._get_param("StackName")
        ids = {s.stack_id for s in backend.stacks.values() if stack in (s.name, s.stack_id)}
        if name.startswith("arn:") or not ids:
            return original(self)
        for key, change_set in list(backend.change_sets.items()):
            if change_set.change_set_name == name and change_set.stack_id in ids:
                backend.delete_change_set(key)
        return EmptyResult()

    return delete_change_set


def _list_change_sets(self) -> ActionResult:
    """The change sets of the stack `StackName` names (by id, or by name: the live stack)."""
    backend = self.cloudformation_backend
    named = self._get_param("StackName")
    ids = {named} | {s.stack_id for s in backend.stacks.values() if s.name == named}
    found = [c for c in backend.list_change_sets() if c.stack_id in ids]
    return ActionResult({"Summaries": found})


def _record_the_update_time(original):
    def update(self, *args, **kwargs):
        self.last_updated_time = utcnow()  # fix 24: DescribeStacks' LastUpdatedTime
        return original(self, *args, **kwargs)

    return update


def apply() -> None:
    models.Stack.update = _record_the_update_time(models.Stack.update)
    backend = models.CloudFormationBackend
    backend.create_change_set = _untag_until_executed(backend.create_change_set)
    backend.execute_change_set = _execute_available_only(backend.execute_change_set)
    backend.update_stack = _obsolete_after_update(backend.update_stack)
    backend.describe_change_set = _describe_or_not_found(backend.describe_change_set)
    backend.delete_change_set = _delete_or_not_found(backend.delete_change_set)
    response = responses.CloudFormationResponse
    response.list_change_sets = _list_change_sets
    response.delete_change_set = _delete_change_set(response.delete_change_set)
    response.RESPONSE_KEY_PATH_TO_TRANSFORMER = {
        **response.RESPONSE_KEY_PATH_TO_TRANSFORMER,
        "DescribeChangeSetOutput.Tags": transform_dict,
    }
