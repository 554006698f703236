"""Infer a stack's Python dependencies, so `--changed-since` follows every input.

A stack depends on the `python_source` owning its troposphere module (and through it, on
everything that module imports) and on jiti's synthesis entry point; both go into the pex
that synthesizes the template.
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
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import FieldSet, InferDependenciesRequest, InferredDependencies
from pants.engine.unions import UnionRule

from jiti.target_types import (
    CloudFormationStackDependenciesField,
    CloudFormationStackSourceField,
)

# The module run in the sandbox to synthesize a template (infra-lib/jiti_infra/synth.py).
SYNTH_ENTRY_POINT = "jiti_infra.synth"


@dataclass(frozen=True)
class StackDependenciesInferenceFieldSet(FieldSet):
    required_fields = (
        CloudFormationStackSourceField,
        CloudFormationStackDependenciesField,
    )

    source: CloudFormationStackSourceField
    dependencies: CloudFormationStackDependenciesField


class InferStackDependencies(InferDependenciesRequest):
    infer_from = StackDependenciesInferenceFieldSet


def module_name(stripped_path: str) -> str:
    module = stripped_path[: -len(".py")].replace("/", ".")
    return module[: -len(".__init__")] if module.endswith(".__init__") else module


@rule(desc="Infer a CloudFormation stack's Python dependencies")
async def infer_stack_dependencies(
    request: InferStackDependencies, python_setup: PythonSetup
) -> InferredDependencies:
    source = request.field_set.source
    modules = [SYNTH_ENTRY_POINT]
    if source.is_troposphere:
        stripped = await Get(StrippedFileName, StrippedFileNameRequest(source.file_path))
        modules.append(module_name(stripped.value))
    owners = await MultiGet(
        Get(
            PythonModuleOwners,
            PythonModuleOwnersRequest(module, resolve=python_setup.default_resolve),
        )
        for module in modules
    )
    return InferredDependencies(
        sorted({address for owner in owners for address in owner.unambiguous})
    )


def rules():
    return [
        *collect_rules(),
        UnionRule(InferDependenciesRequest, InferStackDependencies),
    ]
