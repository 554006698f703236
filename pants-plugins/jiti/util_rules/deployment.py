"""A `cloudformation_deployment` -> its packaged stack and its plan (`jiti_contract.Plan`), the
files the deploy runtime reads. Shared by `run`, `experimental-deploy` and `deploy-stacks`."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Mapping

from pants.engine.addresses import Address, Addresses, UnparsedAddressInputs
from pants.engine.environment import EnvironmentName
from pants.engine.fs import (
    CreateDigest,
    Digest,
    DigestContents,
    FileContent,
    GlobMatchErrorBehavior,
    MergeDigests,
    PathGlobs,
)
from pants.engine.internals.graph import Owners, OwnersRequest
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import (
    DependenciesRequest,
    FieldSet,
    Targets,
    WrappedTarget,
    WrappedTargetRequest,
)
from pants.engine.unions import UnionRule, union
from pants.util.logging import LogLevel

from jiti.dependency_inference import stack_address_input
from jiti.errors import JitiError
from jiti.subsystem import JitiSubsystem
from jiti.target_types import (
    STACK_NAME_PATTERN,
    CloudFormationStackSourceField,
    DeploymentAccountField,
    DeploymentAssumeRoleField,
    DeploymentCapabilitiesField,
    DeploymentDependenciesField,
    DeploymentDisableRollbackField,
    DeploymentEnvironmentField,
    DeploymentInputsField,
    DeploymentNotificationArnsField,
    DeploymentParametersField,
    DeploymentRegionField,
    DeploymentRoleArnField,
    DeploymentRollbackAlarmsField,
    DeploymentRollbackMonitoringField,
    DeploymentStackField,
    DeploymentStackNameField,
    DeploymentStackPolicyField,
    DeploymentStackSetAccountsField,
    DeploymentStackSetFailureToleranceField,
    DeploymentStackSetMaxConcurrentField,
    DeploymentStackSetRegionsField,
    DeploymentTagsField,
    DeploymentTerminationProtectionField,
    OutputReference,
    SsmReference,
)
from jiti.util_rules.inputs import DeploymentConsumers, Producer, ProducerRequest
from jiti.util_rules.inventory import AllStackPlaces, RepositoryName
from jiti.util_rules.preview import Preview, PreviewPlaces
from jiti.util_rules.stack_names import UniqueStackName, UniqueStackNameRequest
from jiti.util_rules.synthesis import SynthesizedStack, SynthesizeStackRequest
from jiti_contract import (
    ASSETS_BUCKET_PARAMETER,
    ENVIRONMENT_PARAMETER,
    Consumer,
    Input,
    Plan,
    StackPlace,
    StackSetSettings,
    check_parameters,
    default_stack_policy,
    fill_placeholders,
    is_no_echo,
    to_json,
)


@dataclass(frozen=True)
class DeploymentFieldSet(FieldSet):
    required_fields = (DeploymentStackField,)

    stack: DeploymentStackField
    dependencies: DeploymentDependenciesField
    stack_name: DeploymentStackNameField
    environment: DeploymentEnvironmentField
    region: DeploymentRegionField
    account: DeploymentAccountField
    assume_role: DeploymentAssumeRoleField
    stack_set_accounts: DeploymentStackSetAccountsField
    stack_set_regions: DeploymentStackSetRegionsField
    stack_set_max_concurrent: DeploymentStackSetMaxConcurrentField
    stack_set_failure_tolerance: DeploymentStackSetFailureToleranceField
    parameters: DeploymentParametersField
    stack_tags: DeploymentTagsField
    role_arn: DeploymentRoleArnField
    termination_protection: DeploymentTerminationProtectionField
    capabilities: DeploymentCapabilitiesField
    stack_policy: DeploymentStackPolicyField
    rollback_alarms: DeploymentRollbackAlarmsField
    rollback_monitoring_minutes: DeploymentRollbackMonitoringField
    notification_arns: DeploymentNotificationArnsField
    disable_rollback: DeploymentDisableRollbackField
    inputs: DeploymentInputsField


@union(in_scope_types=[EnvironmentName])
class DeploymentSetupEntry:
    """How the goal rules ask for a `DeploymentSetup`:
    `Get(DeploymentSetup, DeploymentSetupEntry, DeploymentSetupRequest(...))`.

    A union member is a root of Pants' rule graph of its own, built once. Asked for directly
    from a goal rule, the rules below (synthesis, packaging, pex) are built again with the goal's
    parameters, which made every Pants start seconds slower (docs/scale.md, "Pants start")."""


@dataclass(frozen=True)
class DeploymentSetupRequest(DeploymentSetupEntry):
    """Shared by the run and deploy rules (a union member can't be requested as its base)."""

    field_set: DeploymentFieldSet
    preview: Preview | None = None  # deploy the deployment's copy in this preview environment

    def debug_hint(self) -> str:
        return str(self.field_set.address)


@dataclass(frozen=True)
class DeploymentSetup:
    """What the deploy runtime reads for one deployment: the packaged stack and the plan."""

    address: Address
    stack_name: str
    digest: Digest
    plan_path: str


def stack_name_for(field_set: DeploymentFieldSet, app: str) -> str:
    """The `stack_name` field with `{app}` and `{env}` filled in (the field allows no others)."""
    name = fill_placeholders(
        field_set.stack_name.value, {"app": app, "env": field_set.environment.value}
    )
    if not STACK_NAME_PATTERN.fullmatch(name):
        raise JitiError(
            f"{field_set.address}: field `stack_name`: {name!r} is not a valid stack name "
            "(letters, digits and hyphens, starting with a letter)"
        )
    return name


def thawed(value: Any) -> Any:
    """A field's frozen value as plain JSON data again."""
    if isinstance(value, Mapping):
        return {k: thawed(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [thawed(v) for v in value]
    return value


def render_plan(
    field_set: DeploymentFieldSet,
    stack: SynthesizedStack,
    depends_on: tuple[str, ...],
    *,
    repository: str | None = None,
    stack_policy: dict | None = None,
    inputs: tuple[Input, ...] = (),
    consumers: tuple[Consumer, ...] = (),
    preview: Preview | None = None,
) -> Plan:
    """The deployment's settings; `stack_policy` is the policy the field names (a file's,
    read by the rule), None for the default one. In a `preview`, `field_set` is the copy's."""
    accounts = field_set.stack_set_accounts.value
    stack_set = None
    if accounts:
        stack_set = StackSetSettings(
            accounts=tuple(sorted(accounts)),
            regions=tuple(field_set.stack_set_regions.value or ()),
            max_concurrent_percentage=field_set.stack_set_max_concurrent.value,
            failure_tolerance_percentage=field_set.stack_set_failure_tolerance.value,
        )
    address = field_set.address
    name = address.target_name + address.parameters_repr + (f"-{preview.name}" if preview else "")
    return Plan(
        address=str(address),
        name=re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-"),
        app=stack.app,
        stack_name=stack_name_for(field_set, stack.app),
        environment=field_set.environment.value,
        manifest=stack.manifest_path,
        region=field_set.region.value,
        account=field_set.account.value,
        assume_role=field_set.assume_role.value,
        stack_set=stack_set,
        parameters=dict(field_set.parameters.value or {}),
        tags=dict(field_set.stack_tags.value or {}),
        role_arn=field_set.role_arn.value,
        termination_protection=field_set.termination_protection.value,
        capabilities=tuple(field_set.capabilities.value or ()),
        depends_on=depends_on,
        repository=repository,
        stack_policy=(None if stack_set else stack_policy or default_stack_policy(stack.retained)),
        rollback_alarms=tuple(field_set.rollback_alarms.value or ()),
        rollback_monitoring_minutes=field_set.rollback_monitoring_minutes.value,
        notification_arns=tuple(field_set.notification_arns.value or ()),
        disable_rollback=field_set.disable_rollback.value,
        inputs=inputs,
        consumers=consumers,
        preview=preview.settings if preview else None,
    )


def _check_parameters(field_set: DeploymentFieldSet, stack: SynthesizedStack) -> None:
    """The values the BUILD file gives, against what the template declares (values with a
    placeholder are checked again by the deploy, once it is filled, and so are inputs)."""
    inputs = set(field_set.inputs.value or {})
    unknown = sorted(inputs - set(stack.parameters))
    if unknown:
        raise JitiError(
            f"{field_set.address}: field `inputs`: {', '.join(unknown)} not declared by the "
            f"template (it declares: {', '.join(sorted(stack.parameters)) or 'none'}); declare "
            "each in infra.py with `app.input(name)`"
        )
    problems = check_parameters(
        stack.parameters,
        dict(field_set.parameters.value or {}),
        supplied={ENVIRONMENT_PARAMETER, ASSETS_BUCKET_PARAMETER, *inputs},
    )
    if problems:
        raise JitiError(f"{field_set.address}: field `parameters`: {'; '.join(problems)}")


def _check_rollback(field_set: DeploymentFieldSet, jiti: JitiSubsystem) -> None:
    environment = field_set.environment.value
    if field_set.disable_rollback.value and environment in jiti.protected_environments:
        raise JitiError(
            f"{field_set.address}: field `disable_rollback`: not allowed in the {environment!r} "
            "environment ([jiti].protected_environments): a failed update there rolls back"
        )


async def _stack_policy(field: DeploymentStackPolicyField) -> dict | None:
    """The policy the field gives, read from its file if it names one (a file some target owns,
    so that `--changed-since` follows a change to it)."""
    if field.file_path is None:
        return thawed(field.value) if field.value is not None else None
    contents = await Get(
        DigestContents,
        PathGlobs(
            [field.file_path],
            glob_match_error_behavior=GlobMatchErrorBehavior.error,
            description_of_origin=f"the `stack_policy` field of {field.address}",
        ),
    )
    owners = await Get(Owners, OwnersRequest((field.file_path,)))
    if not owners:
        raise JitiError(
            f"{field.address}: field `stack_policy`: {field.file_path} is not owned by a target; "
            f'add `file(name="stack-policy", source="{field.file_path.rsplit("/", 1)[-1]}")` '
            f"to {field.address.spec_path or '.'}/BUILD so that a change to it selects the "
            "deployment"
        )
    try:
        policy = json.loads(contents[0].content)
    except ValueError as e:
        raise JitiError(
            f"{field.address}: field `stack_policy`: {field.file_path} is not JSON: {e}"
        ) from None
    if not isinstance(policy, dict) or "Statement" not in policy:
        raise JitiError(
            f"{field.address}: field `stack_policy`: {field.file_path} holds no policy "
            "document (an object with a `Statement`)"
        )
    return policy


async def _inputs(
    field_set: DeploymentFieldSet, places: Mapping[Address, StackPlace]
) -> tuple[Input, ...]:
    """The `inputs` field as the deploy reads it: each producer's place, each output checked
    to be declared by the producer's template (whether it is live is the deploy's to see)."""
    references = field_set.inputs.references()
    wanted = [(n, r) for n, r in references if isinstance(r, OutputReference)]
    found = await MultiGet(
        Get(Producer, ProducerRequest(field_set.address, name, reference.address))
        for name, reference in wanted
    )
    producers = [p.get() for p in found]
    for (name, _), producer in zip(wanted, producers):
        if producer.address not in places:
            raise JitiError(
                f"{field_set.address}: field `inputs`: {name}: {producer.address} does not deploy "
                "a `cloudformation_stack` (see its `stack` field)"
            )
    stack_addresses = await MultiGet(
        Get(Addresses, UnparsedAddressInputs, stack_address_input(p[DeploymentStackField]))
        for p in producers
    )
    templates = await MultiGet(
        Get(SynthesizedStack, SynthesizeStackRequest(a[0])) for a in stack_addresses
    )
    by_parameter = {}
    for (name, reference), producer, template in zip(wanted, producers, templates):
        if reference.output not in template.outputs:
            raise JitiError(
                f"{field_set.address}: field `inputs`: {name}: {producer.address} has no output "
                f"{reference.output} (the template of {template.address} declares: "
                f"{', '.join(template.outputs) or 'none'})"
            )
        by_parameter[name] = Input(name, producer=places[producer.address], output=reference.output)
    for name, reference in references:
        if isinstance(reference, SsmReference):
            by_parameter[name] = Input(name, ssm_parameter=reference.name)
    return tuple(by_parameter[name] for name, _ in references)


async def _consumers(
    address: Address,
    places: Mapping[Address, StackPlace],
    consumers: DeploymentConsumers,
    preview: Preview | None = None,
) -> tuple[Consumer, ...]:
    """The deployments whose inputs take this one's outputs, which outputs, and which of them
    they take as NoEcho parameters (secrets the producer's deploy must not show either). A
    preview copy's consumers are the other copies in the preview: the base's read the base."""
    taken: dict[Address, set[tuple[str, str]]] = defaultdict(set)
    for consumer, parameter, output in consumers.by_producer.get(address, ()):
        if consumer in places and (preview is None or consumer in preview.members):
            taken[consumer].add((parameter, output))
    targets = await MultiGet(
        Get(WrappedTarget, WrappedTargetRequest(a, description_of_origin="the jiti plugin"))
        for a in sorted(taken)
    )
    declared = await _parameters_of([t.target[DeploymentStackField] for t in targets])
    found = []
    for t, parameters in zip(targets, declared):
        pairs = taken[t.target.address]
        secret = {o for p, o in pairs if parameters is None or is_no_echo(parameters.get(p, {}))}
        outputs = tuple(sorted({o for _, o in pairs}))
        found.append(Consumer(places[t.target.address], outputs, tuple(sorted(secret))))
    return tuple(found)


async def _parameters_of(stacks: list[DeploymentStackField]) -> list[Mapping[str, Any] | None]:
    """The Parameters section of each deployment's template; None for all when one cannot be
    built (its own deploy says why; meanwhile every output they take is treated as a secret)."""
    try:
        addresses = await MultiGet(
            Get(Addresses, UnparsedAddressInputs, stack_address_input(s)) for s in stacks
        )
        built = await MultiGet(
            Get(SynthesizedStack, SynthesizeStackRequest(a[0])) for a in addresses
        )
    except Exception:  # noqa: BLE001 - a broken consumer is its own deployment's error
        return [None] * len(stacks)
    return [stack.parameters for stack in built]


@rule(desc="Prepare a CloudFormation deployment", level=LogLevel.DEBUG)
async def prepare_deployment(
    request: DeploymentSetupRequest,
    jiti: JitiSubsystem,
    repository: RepositoryName,
    all_places: AllStackPlaces,
    consumers: DeploymentConsumers,
) -> DeploymentSetup:
    field_set, preview = request.field_set, request.preview
    if preview is not None:
        field_set = preview.copy(field_set)
    _check_rollback(field_set, jiti)
    stack_addresses, deps = await MultiGet(
        Get(Addresses, UnparsedAddressInputs, stack_address_input(field_set.stack)),
        Get(Targets, DependenciesRequest(field_set.dependencies)),
    )
    stack_target = (
        await Get(
            WrappedTarget,
            WrappedTargetRequest(
                stack_addresses[0],
                description_of_origin=f"the `stack` field of {field_set.address}",
            ),
        )
    ).target
    if not stack_target.has_field(CloudFormationStackSourceField):
        raise JitiError(
            f"{field_set.address}: field `stack`: {stack_target.address} is a "
            f"`{stack_target.alias}`, not a `cloudformation_stack`"
        )
    stack = await Get(SynthesizedStack, SynthesizeStackRequest(stack_target.address))
    _check_parameters(field_set, stack)
    places = (
        (await Get(PreviewPlaces, Preview, preview)).places if preview else all_places.by_address
    )
    inputs = await _inputs(field_set, places)
    # Deployments this one names in `dependencies`, and the producers of its inputs, go first
    # when deployed together.
    depends_on = {str(t.address) for t in deps if t.has_field(DeploymentStackField)}
    depends_on |= {i.producer.address for i in inputs if i.producer}
    plan = render_plan(
        field_set,
        stack,
        tuple(sorted(depends_on)),
        repository=repository.name,
        stack_policy=await _stack_policy(field_set.stack_policy),
        inputs=inputs,
        consumers=await _consumers(field_set.address, places, consumers, preview),
        preview=preview,
    )
    await Get(
        UniqueStackName,
        UniqueStackNameRequest(field_set.address, plan.account, plan.region, plan.stack_name),
    )
    plan_path = Plan.path_for(field_set.address.path_safe_spec)
    plan_digest = await Get(Digest, CreateDigest([FileContent(plan_path, to_json(plan).encode())]))
    digest = await Get(Digest, MergeDigests([stack.digest, plan_digest]))
    return DeploymentSetup(field_set.address, plan.stack_name, digest, plan_path)


def rules():
    return [*collect_rules(), UnionRule(DeploymentSetupEntry, DeploymentSetupRequest)]
