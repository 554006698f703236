"""A `cloudformation_deployment` -> its packaged stack and its plan (`jiti_contract.Plan`), the
files the deploy runtime reads. Shared by `run`, `experimental-deploy` and `deploy-stacks`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pants.engine.addresses import Address, Addresses, UnparsedAddressInputs
from pants.engine.fs import CreateDigest, Digest, FileContent, MergeDigests
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import (
    DependenciesRequest,
    FieldSet,
    Targets,
    WrappedTarget,
    WrappedTargetRequest,
)
from pants.util.logging import LogLevel

from jiti.dependency_inference import stack_address_input
from jiti.errors import JitiError
from jiti.target_types import (
    STACK_NAME_PATTERN,
    CloudFormationStackSourceField,
    DeploymentAccountField,
    DeploymentAssumeRoleField,
    DeploymentCapabilitiesField,
    DeploymentDependenciesField,
    DeploymentEnvironmentField,
    DeploymentParametersField,
    DeploymentRegionField,
    DeploymentRoleArnField,
    DeploymentStackField,
    DeploymentStackNameField,
    DeploymentStackSetAccountsField,
    DeploymentStackSetFailureToleranceField,
    DeploymentStackSetMaxConcurrentField,
    DeploymentStackSetRegionsField,
    DeploymentTagsField,
    DeploymentTerminationProtectionField,
)
from jiti.util_rules.stack_names import UniqueStackName, UniqueStackNameRequest
from jiti.util_rules.synthesis import SynthesizedStack, SynthesizeStackRequest
from jiti_contract import (
    ASSETS_BUCKET_PARAMETER,
    ENVIRONMENT_PARAMETER,
    Plan,
    StackSetSettings,
    check_parameters,
    fill_placeholders,
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


@dataclass(frozen=True)
class DeploymentSetupRequest:
    """Shared by the run and deploy rules (a union member can't be requested as its base)."""

    field_set: DeploymentFieldSet

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
    if not STACK_NAME_PATTERN.match(name):
        raise JitiError(
            f"{field_set.address}: field `stack_name`: {name!r} is not a valid stack name "
            "(letters, digits and hyphens, starting with a letter)"
        )
    return name


def render_plan(
    field_set: DeploymentFieldSet, stack: SynthesizedStack, depends_on: tuple[str, ...]
) -> Plan:
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
    return Plan(
        address=str(address),
        name=re.sub(r"[^A-Za-z0-9_.-]+", "-", address.target_name + address.parameters_repr).strip(
            "-"
        ),
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
    )


def _check_parameters(field_set: DeploymentFieldSet, stack: SynthesizedStack) -> None:
    """The values the BUILD file gives, against what the template declares (values with a
    placeholder are checked again by the deploy, once it is filled)."""
    problems = check_parameters(
        stack.parameters,
        dict(field_set.parameters.value or {}),
        supplied={ENVIRONMENT_PARAMETER, ASSETS_BUCKET_PARAMETER},
    )
    if problems:
        raise JitiError(f"{field_set.address}: field `parameters`: {'; '.join(problems)}")


@rule(desc="Prepare a CloudFormation deployment", level=LogLevel.DEBUG)
async def prepare_deployment(request: DeploymentSetupRequest) -> DeploymentSetup:
    field_set = request.field_set
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
    # Deployments this one names in `dependencies` go first when deployed together.
    depends_on = tuple(sorted(str(t.address) for t in deps if t.has_field(DeploymentStackField)))
    plan = render_plan(field_set, stack, depends_on)
    _check_parameters(field_set, stack)
    await Get(
        UniqueStackName,
        UniqueStackNameRequest(field_set.address, plan.account, plan.region, plan.stack_name),
    )
    plan_path = Plan.path_for(field_set.address.path_safe_spec)
    plan_digest = await Get(Digest, CreateDigest([FileContent(plan_path, to_json(plan).encode())]))
    digest = await Get(Digest, MergeDigests([stack.digest, plan_digest]))
    return DeploymentSetup(field_set.address, plan.stack_name, digest, plan_path)


def rules():
    return collect_rules()
