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
   `*_FAILED` event naming the resource and the reason;
6. UpdateTerminationProtection is not implemented (a 500), and a protected stack can be
   deleted; CloudFormation sets the flag and refuses to delete the stack while it is on;
7. a template of any size is taken inline; CloudFormation takes at most 51,200 bytes in
   `TemplateBody` (larger templates must come from S3, `TemplateURL`);
8. `DeletionPolicy: RetainExceptOnCreate` is not known: moto deletes such a resource when the
   stack is deleted, where CloudFormation keeps it (it deletes it only when rolling back the
   create that made it); and a rolled-back create reports no resource events, where
   CloudFormation reports each resource it deleted, and `DELETE_SKIPPED` for each it kept;
9. S3 ignores `ExpectedBucketOwner`, so a bucket another account created under the name jiti
   expects is used as if it were one's own; S3 refuses the call (403 Access Denied);
10. a bucket policy statement whose Condition does not hold is taken as a Deny (so a TLS-only
    policy, `Deny` unless `aws:SecureTransport`, denies every object call); AWS ignores such a
    statement. The local AWS is reached on loopback, and counts as a secure transport;
11. a change set's modifications carry no `Replacement`, `Scope` or `Details`: nothing says
    which resources a change replaces, or which properties it changes (`change_sets.py`);
12. a stack policy is stored but not enforced: an update replaces or deletes what the policy
    protects (`change_sets.py`);
13. deleting a stack reports no resource events, where CloudFormation reports each resource it
    deleted, and `DELETE_SKIPPED` for each it kept (DeletionPolicy Retain);
14. drift detection (DetectStackDrift, DescribeStackDriftDetectionStatus,
    DescribeStackResourceDrifts) is not implemented (`drift.py`);
15. a DynamoDB table that a stack update changes drops out of the stack (moto cannot update
    one), so every output and reference to it fails from then on; CloudFormation updates it,
    and replaces it when its name changes (keeping the old table under
    `UpdateReplacePolicy: Retain`);
16. a stack made by a CREATE change set shows the change set's tags before it is executed,
    ListChangeSets ignores `StackName`, executing a change set keeps the stack's others,
    none becomes `OBSOLETE` when the stack moves, and DeleteChangeSet of a name the stack has no
    change set of fails (the CDK CLI makes that call before each change set) (`review.py`);
17. UpdateStackSet leaves the instances' stacks alone, UpdateStackInstances too, and
    CreateStackInstances with overrides gives a stack only the overridden values; CloudFormation
    updates each instance to the StackSet's template and values, keeping its overrides
    (`stack_sets.py`);
18. a `TemplateURL` with `?versionId=` and a Lambda function's `Code.S3ObjectVersion` read the
    newest version of the key, not the one named (`s3_versions.py`);
19. a PutObject whose claimed checksum is not its bytes' is kept with that checksum; S3 refuses
    it with `BadDigest` (`s3_checksums.py`);
20. only the stack's own events are written (a new stack of 60 queues gets 3), all on one page;
    CloudFormation writes one for each state change of each resource, and pages them 100 at a
    time (`events.py`);
21. a nested stack is made a top-level one: no `ParentId`, no `RootId`, none of its parent's
    tags, where CloudFormation sets both ids and propagates the parent's tags (`nested.py`);
22. a change of the stack's tags alone is no change ("No updates are to be performed"), lists
    no resource, and no stack tag reaches a resource; CloudFormation propagates the stack's
    tags to each taggable resource and lists those as `Modify`, `Scope: ["Tags"]` (`tags.py`);
23. DescribeType is not implemented, so no registry schema says which properties are
    create-only or which types take tags (`registry.py`);
24. an updated stack has no `LastUpdatedTime`, so nothing shows that it moved since a plan
    (`review.py`);
25. a CloudFormation call that lists the stacks while another adds or removes one fails with a
    server error (`OrderedDict mutated during iteration`) (`serial.py`);
26. an `AWS::SSM::Parameter` without a `Name` fails to create, where CloudFormation names it
    (`ssm_parameters.py`).

`apply()` patches exactly these, in the local server process only; each fix has a test
that fails when moto's own behaviour changes (local_aws/fidelity_test.py).
"""

from __future__ import annotations

import json
import uuid

from moto.cloudformation import models, parsing, responses
from moto.cloudformation.exceptions import ValidationError
from moto.core.utils import utcnow
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models import table as dynamodb_table
from moto.s3 import models as s3_models
from moto.s3 import responses as s3_responses
from moto.s3.exceptions import BucketAccessDeniedError

from jiti_contract import RETAINING_POLICIES, TEMPLATE_BODY_LIMIT
from jiti_deploy.local_aws import (
    change_sets,
    drift,
    events,
    nested,
    registry,
    review,
    s3_checksums,
    s3_versions,
    serial,
    ssm_parameters,
    stack_sets,
    tags,
)


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


# Kept under its old name for the fixes that write resource events.
_resource_event = events.record


def _roll_back_create(stack) -> None:
    """Delete what a failed create made, as CloudFormation does: a resource whose DeletionPolicy
    is Retain is kept and reported DELETE_SKIPPED; RetainExceptOnCreate ones are deleted."""
    resource_map = stack.resource_map
    templates = resource_map._resource_json_map
    made = {k: v for k, v in resource_map._parsed_resources.items() if k in templates}
    try:
        _moto_delete(resource_map)  # moto's own: it keeps Retain, deletes the rest
    except Exception:
        pass  # what could not be created needs no deleting
    for logical_id, resource in made.items():
        kind = templates[logical_id].get("Type", "?")
        kept = templates[logical_id].get("DeletionPolicy") == "Retain"
        events.deleted(stack, logical_id, kind, events.physical_id(resource), kept=kept)


def _keep_retain_except_on_create(original):
    def delete(self):
        """Deleting a stack keeps RetainExceptOnCreate resources, as it keeps Retain ones."""
        changed = {
            k: v
            for k, v in self._resource_json_map.items()
            if isinstance(v, dict) and v.get("DeletionPolicy") == "RetainExceptOnCreate"
        }
        for k, v in changed.items():
            self._resource_json_map[k] = {**v, "DeletionPolicy": "Retain"}
        try:
            return original(self)
        finally:
            self._resource_json_map.update(changed)

    return delete


def _execute_change_set_like_cloudformation(original):
    def execute_change_set(self, change_set_name, stack_name=None):
        change_set = self.describe_change_set(change_set_name)
        stack = self.stacks[change_set.stack_id]
        kind = change_set.change_set_type
        try:
            refused = change_sets.stack_policy_refusal(stack, change_set)
            if refused:
                raise ResourceFailed(*refused)
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
                _roll_back_create(stack)
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


def _report_deleted_resources(original):
    def delete(self):
        """Each resource's event, between the stack's DELETE_IN_PROGRESS and DELETE_COMPLETE:
        DELETE_SKIPPED for the ones a deletion policy keeps."""
        templates = self.resource_map._resource_json_map
        made = {k: v for k, v in self.resource_map._parsed_resources.items() if k in templates}
        original(self)
        completed = self.events.pop()
        for logical_id, resource in made.items():
            kind = templates[logical_id].get("Type", "?")
            kept = templates[logical_id].get("DeletionPolicy") in RETAINING_POLICIES
            events.deleted(self, logical_id, kind, events.physical_id(resource), kept=kept)
        completed.timestamp = utcnow()  # after the resources' events
        self.events.append(completed)

    return delete


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


def _update_termination_protection(self):
    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    stack.enable_termination_protection = self._get_bool_param("EnableTerminationProtection")
    return responses.ActionResult({"StackId": stack.stack_id})


def _refuse_deleting_a_protected_stack(original):
    def delete_stack(self, name_or_stack_id):
        stacks = [
            s
            for s in list(self.stacks.values())  # parallel deletes change the dict
            if name_or_stack_id in (s.stack_id, s.name) and s.enable_termination_protection
        ]
        if stacks:
            raise ValidationError(
                message=f"Stack [{stacks[0].name}] cannot be deleted while TerminationProtection is enabled"
            )
        return original(self, name_or_stack_id)

    return delete_stack


def _limit_the_template_body(original):
    def action(self):
        body = self._get_param("TemplateBody")
        if body and len(body.encode()) > TEMPLATE_BODY_LIMIT:
            raise ValidationError(
                message="1 validation error detected: Value at 'templateBody' failed to satisfy "
                f"constraint: Member must have length less than or equal to {TEMPLATE_BODY_LIMIT}"
            )
        return original(self)

    return action


def _check_the_expected_bucket_owner(original):
    def respond(self, request, full_url):
        expected = request.headers.get("x-amz-expected-bucket-owner")
        owner = s3_models.s3_backends.bucket_accounts.get(self.bucket_name or "")
        if expected and owner and owner[1] != expected:
            raise BucketAccessDeniedError(self.bucket_name)
        return original(self, request, full_url)

    return respond


# What the local AWS says of every request, for bucket policy conditions.
REQUEST_CONTEXT = {"aws:SecureTransport": "true"}


def _condition_holds(condition: dict) -> bool:
    """Judge the conditions the local AWS knows (`Bool` and `StringEquals` on REQUEST_CONTEXT);
    a statement with any other condition is taken not to apply."""
    for operator, tests in condition.items():
        if operator not in ("Bool", "StringEquals"):
            return False
        for key, expected in tests.items():
            allowed = [
                str(v).lower() for v in (expected if isinstance(expected, list) else [expected])
            ]
            if REQUEST_CONTEXT.get(key, "").lower() not in allowed:
                return False
    return True


def _bucket_permission(self, action: str, resource: str):
    """A bucket policy as S3 reads it: only the statements whose conditions hold apply."""
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult

    if self.policy is None:
        return PermissionResult.NEUTRAL
    statements = json.loads(self.policy.decode()).get("Statement", [])
    result = PermissionResult.NEUTRAL
    for statement in statements if isinstance(statements, list) else [statements]:
        if "Condition" in statement and not _condition_holds(statement["Condition"]):
            continue
        unconditional = {k: v for k, v in statement.items() if k != "Condition"}
        permission = IAMPolicyStatement(unconditional).is_action_permitted(action, resource)
        if permission == PermissionResult.DENIED:
            return permission
        if permission == PermissionResult.PERMITTED:
            result = permission
    return result


TEMPLATE_ACTIONS = (
    "create_stack",
    "update_stack",
    "create_change_set",
    "create_stack_set",
    "update_stack_set",
    "validate_template",
)
_applied = False
_moto_delete = parsing.ResourceMap.delete  # moto's own, for rolling back a create


def _update_table(
    cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
):
    """A table whose name is unchanged is updated in place (moto keeps no other property that
    an update could change); a new name makes a new table, and the old one is deleted unless
    `UpdateReplacePolicy` keeps it."""
    if original_resource.name == new_resource_name:
        return original_resource
    table = cls.create_from_cloudformation_json(
        new_resource_name, cloudformation_json, account_id, region_name
    )
    if cloudformation_json.get("UpdateReplacePolicy") not in ("Retain", "Snapshot"):
        dynamodb_backends[account_id][region_name].delete_table(name=original_resource.name)
    return table


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
    response = responses.CloudFormationResponse
    response.update_termination_protection = _update_termination_protection
    models.CloudFormationBackend.delete_stack = _refuse_deleting_a_protected_stack(
        models.CloudFormationBackend.delete_stack
    )
    for name in TEMPLATE_ACTIONS:
        setattr(response, name, _limit_the_template_body(getattr(response, name)))
    parsing.ResourceMap.delete = _keep_retain_except_on_create(_moto_delete)
    s3 = s3_responses.S3Response
    s3._bucket_response = _check_the_expected_bucket_owner(s3._bucket_response)
    s3._key_response = _check_the_expected_bucket_owner(s3._key_response)
    s3_models.FakeBucket.get_permission = _bucket_permission
    models.Stack.delete = _report_deleted_resources(models.Stack.delete)
    change_sets.apply()
    drift.apply()
    review.apply()
    stack_sets.apply()
    s3_versions.apply()
    s3_checksums.apply()
    tags.apply()
    dynamodb_table.Table.update_from_cloudformation_json = classmethod(_update_table)
    events.apply()
    nested.apply()
    registry.apply()
    serial.apply()
    ssm_parameters.apply()
    _applied = True
