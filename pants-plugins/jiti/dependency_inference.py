"""Inferred dependencies, so `--changed-since` follows every input of a stack and a deployment.

A stack depends on the `python_source` owning its troposphere module (and through it, on
everything that module imports) and on jiti's synthesis main; both go into the process that
synthesizes the template. A deployment depends on its stack, on jiti's deploy runtime, and on
the target owning its `stack_policy` file, if it names one, and on the deployments whose
outputs its `inputs` take (the copy matching its parametrization).
"""

from __future__ import annotations

from dataclasses import dataclass

from pants.backend.python.dependency_inference.module_mapper import (
    PythonModuleOwners,
    PythonModuleOwnersRequest,
)
from pants.backend.python.subsystems.setup import PythonSetup
from pants.core.util_rules.stripped_source_files import (
    StrippedFileName,
    StrippedFileNameRequest,
)
from pants.engine.addresses import Addresses, UnparsedAddressInputs
from pants.engine.internals.graph import Owners, OwnersRequest
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import FieldSet, InferDependenciesRequest, InferredDependencies
from pants.engine.unions import UnionRule

from jiti.target_types import (
    CloudFormationStackDependenciesField,
    CloudFormationStackSourceField,
    DeploymentDependenciesField,
    DeploymentInputsField,
    DeploymentStackField,
    DeploymentStackPolicyField,
    OutputReference,
)
from jiti.util_rules.inputs import Producer, ProducerRequest

# The module run in the sandbox to synthesize a template (infra-lib/jiti_infra/synth_main.py).
SYNTH_ENTRY_POINT = "jiti_infra.synth_main"
# The deploy runtime (infra-lib/jiti_deploy/), run as `python -m jiti_deploy`.
DEPLOY_ENTRY_POINT = "jiti_deploy"
DEPLOY_MODULE = "jiti_deploy.__main__"


def module_name(stripped_path: str) -> str:
    module = stripped_path[: -len(".py")].replace("/", ".")
    return module[: -len(".__init__")] if module.endswith(".__init__") else module


async def _owners(modules: list[str], python_setup: PythonSetup) -> list:
    owners = await MultiGet(
        Get(
            PythonModuleOwners,
            PythonModuleOwnersRequest(module, resolve=python_setup.default_resolve),
        )
        for module in modules
    )
    return sorted({address for owner in owners for address in owner.unambiguous})


# --- cloudformation_stack -------------------------------------------------------------------


@dataclass(frozen=True)
class StackDependenciesInferenceFieldSet(FieldSet):
    required_fields = (CloudFormationStackSourceField, CloudFormationStackDependenciesField)

    source: CloudFormationStackSourceField
    dependencies: CloudFormationStackDependenciesField


class InferStackDependencies(InferDependenciesRequest):
    infer_from = StackDependenciesInferenceFieldSet


@rule(desc="Infer a CloudFormation stack's Python dependencies")
async def infer_stack_dependencies(
    request: InferStackDependencies, python_setup: PythonSetup
) -> InferredDependencies:
    source = request.field_set.source
    modules = [SYNTH_ENTRY_POINT]
    if source.is_troposphere:
        stripped = await Get(StrippedFileName, StrippedFileNameRequest(source.file_path))
        modules.append(module_name(stripped.value))
    return InferredDependencies(await _owners(modules, python_setup))


# --- cloudformation_deployment --------------------------------------------------------------


def stack_address_input(stack: DeploymentStackField) -> UnparsedAddressInputs:
    """The `stack` field as addresses to resolve (the engine resolves equal inputs once)."""
    return UnparsedAddressInputs(
        [stack.value],
        owning_address=stack.address,
        description_of_origin=f"the `stack` field of {stack.address}",
    )


@dataclass(frozen=True)
class DeploymentDependenciesInferenceFieldSet(FieldSet):
    required_fields = (DeploymentStackField, DeploymentDependenciesField)

    stack: DeploymentStackField
    dependencies: DeploymentDependenciesField
    stack_policy: DeploymentStackPolicyField
    inputs: DeploymentInputsField


class InferDeploymentDependencies(InferDependenciesRequest):
    infer_from = DeploymentDependenciesInferenceFieldSet


@rule(desc="Infer a CloudFormation deployment's dependencies")
async def infer_deployment_dependencies(
    request: InferDeploymentDependencies, python_setup: PythonSetup
) -> InferredDependencies:
    field_set = request.field_set
    producers = [
        Get(Producer, ProducerRequest(field_set.address, name, reference.address))
        for name, reference in field_set.inputs.references()
        if isinstance(reference, OutputReference)
    ]
    stack, *found = await MultiGet(
        Get(Addresses, UnparsedAddressInputs, stack_address_input(field_set.stack)), *producers
    )
    runtime = await _owners([DEPLOY_MODULE], python_setup)
    policy_file = field_set.stack_policy.file_path
    policy = await Get(Owners, OwnersRequest((policy_file,))) if policy_file else ()
    producer_addresses = (p.get().address for p in found)
    return InferredDependencies([*stack, *runtime, *sorted(policy), *producer_addresses])


def rules():
    return [
        *collect_rules(),
        UnionRule(InferDependenciesRequest, InferStackDependencies),
        UnionRule(InferDependenciesRequest, InferDeploymentDependencies),
    ]
