"""What moto's change sets lack, as CloudFormation has it (fixes 11 and 12 of `fidelity`).

11. A modification says whether it replaces the resource (`Replacement`), which attributes it
    touches (`Scope`) and, property by property, what changes and whether that needs a new
    resource (`Details`, with the values when DescribeChangeSet asks for them with
    `IncludePropertyValues`). Which properties need a new resource is the registry schemas'
    `createOnlyProperties` (CREATE_ONLY, for the resource types jiti's building blocks make;
    `fidelity_test.py` checks it against the schemas cfn-lint ships).
12. A stack policy is enforced: executing a change set whose modifications, replacements or
    deletions the policy does not allow fails before anything changes, as CloudFormation's
    update does (`Action denied by stack policy`), and the stack rolls back.
"""

from __future__ import annotations

import copy
import fnmatch
import json

from moto.cloudformation import models, parsing, responses

# createOnlyProperties of the CloudFormation registry schemas (us-east-1), by resource type.
CREATE_ONLY: dict[str, tuple[str, ...]] = {
    "AWS::S3::Bucket": ("BucketName", "BucketNamePrefix", "BucketNamespace"),
    "AWS::S3::BucketPolicy": ("Bucket",),
    "AWS::SQS::Queue": ("FifoQueue", "QueueName"),
    "AWS::SQS::QueuePolicy": (),
    "AWS::DynamoDB::Table": ("ImportSourceSpecification", "TableName"),
    "AWS::Lambda::Function": ("FunctionName", "PackageType", "TenancyConfig"),
    "AWS::Lambda::Permission": (
        "Action",
        "EventSourceToken",
        "FunctionName",
        "FunctionUrlAuthType",
        "InvokedViaFunctionUrl",
        "Principal",
        "PrincipalOrgID",
        "SourceAccount",
        "SourceArn",
    ),
    "AWS::Lambda::EventSourceMapping": (
        "EventSourceArn",
        "SelfManagedEventSource",
        "StartingPosition",
        "StartingPositionTimestamp",
    ),
    "AWS::IAM::Role": ("Path", "RoleName"),
    "AWS::IAM::Policy": (),
    "AWS::Logs::LogGroup": ("LogGroupName",),
    "AWS::SNS::Topic": ("FifoTopic", "TopicName"),
    "AWS::Events::Rule": ("Name",),
    "AWS::SSM::Parameter": ("Name",),
    "AWS::ApiGateway::RestApi": (),
    "AWS::ApiGateway::Resource": ("ParentId", "PathPart", "RestApiId"),
    "AWS::ApiGateway::Method": ("HttpMethod", "ResourceId", "RestApiId"),
    "AWS::ApiGateway::Deployment": ("DeploymentCanarySettings", "RestApiId"),
    "AWS::ApiGateway::Stage": ("RestApiId", "StageName"),
}
# Resource attributes other than Properties that a change can touch.
ATTRIBUTES = ("Metadata", "DeletionPolicy", "UpdateReplacePolicy", "UpdatePolicy", "Condition")


def _references(value, names: set[str]) -> bool:
    """`value` refers to one of `names` (parameters) with Ref or in a Sub."""
    if isinstance(value, dict):
        if value.get("Ref") in names:
            return True
        sub = value.get("Fn::Sub")
        text = sub if isinstance(sub, str) else (sub[0] if isinstance(sub, list) and sub else "")
        if any("${" + n + "}" in text for n in names):
            return True
        return any(_references(v, names) for v in value.values())
    if isinstance(value, list):
        return any(_references(v, names) for v in value)
    return False


def _text(value) -> str | None:
    """A value as DescribeChangeSet shows it: strings as they are, anything else as JSON."""
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _resolved(value, resource_map, parameters: dict):
    """`value` with intrinsic functions evaluated against the stack, `parameters` (the change
    set's) taking the place of the stack's; the template's own text where that fails."""

    def substitute(v):
        if isinstance(v, dict):
            if set(v) == {"Ref"} and v["Ref"] in parameters:
                return parameters[v["Ref"]]
            return {k: substitute(x) for k, x in v.items()}
        if isinstance(v, list):
            return [substitute(x) for x in v]
        return v

    try:
        return parsing.clean_json(substitute(copy.deepcopy(value)), resource_map)
    except Exception:  # noqa: BLE001 - e.g. a reference to a resource the change set adds
        return value


def _detail(attribute, name, recreation, source, before, after) -> dict:
    target = {"Attribute": attribute, "RequiresRecreation": recreation}
    if name:
        target["Name"] = name
    target["BeforeValue"], target["AfterValue"] = _text(before), _text(after)
    return {"Target": target, "Evaluation": "Static", "ChangeSource": source}


def property_changes(
    resource_type: str, old: dict, new: dict, changed_parameters: set[str], resolve, resolve_old
) -> list[dict]:
    """The ResourceChangeDetails of one modified resource: each property (or attribute) that
    differs, or that names a parameter whose value changes; `resolve_old` evaluates the
    "before" with the live stack's parameter values, `resolve` the "after" with the change
    set's."""
    details = []
    create_only = CREATE_ONLY.get(resource_type, ())
    old_props, new_props = old.get("Properties") or {}, new.get("Properties") or {}
    for name in sorted(set(old_props) | set(new_props)):
        before, after = old_props.get(name), new_props.get(name)
        if before != after:
            source = "DirectModification"
        elif _references(after, changed_parameters):
            source = "ParameterReference"
        else:
            continue
        recreation = "Always" if name in create_only else "Never"
        # A template's own `Tags` is a property (attribute `Tags` is the stack's, see tags.py).
        details.append(
            _detail("Properties", name, recreation, source, resolve_old(before), resolve(after))
        )
    for attribute in ATTRIBUTES:
        if old.get(attribute) != new.get(attribute):
            details.append(
                _detail(
                    attribute,
                    None,
                    "Never",
                    "DirectModification",
                    old.get(attribute),
                    new.get(attribute),
                )
            )
    return details


def _describe_modifications(original):
    def diff(self):
        """moto's changes, each Modify with its Replacement, Scope and Details."""
        changes = original(self)
        if self.change_set_type != "UPDATE":
            return changes
        resource_map = self.stack.resource_map
        old_resources = resource_map._resource_json_map
        new_resources = (self.template_dict or {}).get("Resources", {})
        old_parameters = dict(getattr(resource_map, "input_parameters", {}) or {})
        changed = {p for p, v in (self.parameters or {}).items() if old_parameters.get(p) != v}
        parameters = {p: self.parameters[p] for p in changed}
        for change in changes:
            if change.action != "Modify":
                continue
            details = property_changes(
                change.resource_type,
                old_resources.get(change.logical_resource_id, {}),
                new_resources.get(change.logical_resource_id, {}),
                changed,
                lambda v: _resolved(v, resource_map, parameters),
                lambda v: _resolved(v, resource_map, {}),
            )
            recreations = {d["Target"]["RequiresRecreation"] for d in details}
            change.replacement = (
                "True"
                if "Always" in recreations
                else ("Conditional" if "Conditionally" in recreations else "False")
            )
            change.scope = sorted({d["Target"]["Attribute"] for d in details})
            change.details = details
        return changes

    return diff


class _WithoutValues:
    """A change set as DescribeChangeSet shows it without IncludePropertyValues."""

    def __init__(self, change_set):
        self._change_set = change_set

    def __getattr__(self, name):
        if name == "changes":
            return [_ChangeWithoutValues(c) for c in self._change_set.changes]
        return getattr(self._change_set, name)


class _ChangeWithoutValues:
    def __init__(self, change):
        self._change = change

    def __getattr__(self, name):
        if name == "details" and getattr(self._change, "details", None) is not None:
            return [
                {
                    **d,
                    "Target": {
                        k: v
                        for k, v in d["Target"].items()
                        if k not in ("BeforeValue", "AfterValue")
                    },
                }
                for d in self._change.details
            ]
        return getattr(self._change, name)


def _describe_change_set(self):
    change_set = self.cloudformation_backend.describe_change_set(
        change_set_name=self._get_param("ChangeSetName")
    )
    if not self._get_bool_param("IncludePropertyValues", False):
        change_set = _WithoutValues(change_set)
    return responses.ActionResult(change_set)


# --- stack policies (fix 12) ---------------------------------------------------------------


def _listed(value) -> list:
    return value if isinstance(value, list) else [value]


def _matches(statement: dict, action: str, logical_id: str, resource_type: str) -> bool:
    resource = f"LogicalResourceId/{logical_id}"
    if "Action" in statement and not any(
        fnmatch.fnmatchcase(action, a) for a in _listed(statement["Action"])
    ):
        return False
    if "NotAction" in statement and any(
        fnmatch.fnmatchcase(action, a) for a in _listed(statement["NotAction"])
    ):
        return False
    if "Resource" in statement and not any(
        fnmatch.fnmatchcase(resource, r) for r in _listed(statement["Resource"])
    ):
        return False
    if "NotResource" in statement and any(
        fnmatch.fnmatchcase(resource, r) for r in _listed(statement["NotResource"])
    ):
        return False
    for operator, tests in (statement.get("Condition") or {}).items():
        wanted = _listed(tests.get("ResourceType", []))
        if operator == "StringEquals" and resource_type not in wanted:
            return False
        if operator == "StringLike" and not any(
            fnmatch.fnmatchcase(resource_type, w) for w in wanted
        ):
            return False
    return True


def denial(policy: dict, action: str, logical_id: str, resource_type: str) -> str | None:
    """Why `policy` refuses `action` on the resource, or None if it allows it: a Deny that
    applies wins, and with a policy set, what no statement allows is refused."""
    allowed = False
    for number, statement in enumerate(_listed(policy.get("Statement", [])), start=1):
        if not _matches(statement, action, logical_id, resource_type):
            continue
        if statement.get("Effect") == "Deny":
            return (
                f"Action denied by stack policy: Statement [#{number}] has a Deny effect on "
                f"[{action}] for [LogicalResourceId/{logical_id}]"
            )
        allowed = True
    if allowed:
        return None
    return f"Action denied by stack policy: no statement allows [{action}] for [LogicalResourceId/{logical_id}]"


def policy_action(change) -> str | None:
    if change.action == "Remove":
        return "Update:Delete"
    if change.action == "Modify":
        replaces = getattr(change, "replacement", "False") in ("True", "Conditional")
        return "Update:Replace" if replaces else "Update:Modify"
    return None


def stack_policy_refusal(stack, change_set) -> tuple | None:
    """The first change of an UPDATE change set that the stack's policy refuses, as
    (logical id, type, reason)."""
    if change_set.change_set_type != "UPDATE" or not stack.policy:
        return None
    policy = json.loads(stack.policy)
    for change in change_set.changes:
        action = policy_action(change)
        if action is None:
            continue
        reason = denial(policy, action, change.logical_resource_id, change.resource_type)
        if reason:
            return change.logical_resource_id, change.resource_type, reason
    return None


def apply() -> None:
    models.ChangeSet.diff = _describe_modifications(models.ChangeSet.diff)
    responses.CloudFormationResponse.describe_change_set = _describe_change_set
