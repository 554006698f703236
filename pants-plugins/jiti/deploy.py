"""Deploying a `cloudformation_deployment`: `pants run` and `pants experimental-deploy`.

The engine packages the stack and builds the deploy runtime (infra-lib's jiti_infra.deploy,
a pex); both goals then run that runtime on the packaged artifacts and a small plan file.
The runtime is the only part of jiti that talks to AWS.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Iterable, Mapping

from pants.backend.python.dependency_inference.module_mapper import (
    PythonModuleOwners,
    PythonModuleOwnersRequest,
)
from pants.backend.python.subsystems.setup import PythonSetup
from pants.backend.python.target_types import EntryPoint, PythonSourceField
from pants.backend.python.util_rules.pex import Pex
from pants.backend.python.util_rules.pex_environment import PythonExecutable
from pants.backend.python.util_rules.pex_from_targets import (
    InterpreterConstraintsRequest,
    PexFromTargetsRequest,
)
from pants.base.build_root import BuildRoot
from pants.core.goals.deploy import DeployFieldSet, DeployProcess
from pants.core.goals.run import RunFieldSet, RunInSandboxBehavior, RunRequest
from pants.core.util_rules.distdir import DistDir
from pants.engine.addresses import Address, Addresses, UnparsedAddressInputs
from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.engine.fs import CreateDigest, Digest, FileContent, MergeDigests
from pants.engine.process import InteractiveProcess
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import (
    DependenciesRequest,
    FieldSet,
    InferDependenciesRequest,
    InferredDependencies,
    Targets,
    WrappedTarget,
    WrappedTargetRequest,
)
from pants.engine.unions import UnionRule
from pants.util.logging import LogLevel

from jiti.errors import JitiError
from jiti.subsystem import JitiSubsystem
from jiti.synthesis import SynthesizedStack, SynthesizeStackRequest
from jiti.target_types import (
    STACK_NAME_PATTERN,
    CloudFormationStackNameField,
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

DEPLOY_ENTRY_POINT = "jiti_infra.deploy"
_DEPLOY_MODULE = "jiti_infra.deploy.__main__"
_PEX = "jiti-deploy.pex"


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


class InferDeploymentDependencies(InferDependenciesRequest):
    infer_from = DeploymentFieldSet


def _stack_input(field_set: DeploymentFieldSet) -> UnparsedAddressInputs:
    return UnparsedAddressInputs(
        [field_set.stack.value],
        owning_address=field_set.address,
        description_of_origin=f"the `stack` field of {field_set.address}",
    )


@rule(desc="Infer a CloudFormation deployment's dependencies")
async def infer_deployment_dependencies(
    request: InferDeploymentDependencies, python_setup: PythonSetup
) -> InferredDependencies:
    stack, runtime = await MultiGet(
        Get(Addresses, UnparsedAddressInputs, _stack_input(request.field_set)),
        Get(
            PythonModuleOwners,
            PythonModuleOwnersRequest(_DEPLOY_MODULE, resolve=python_setup.default_resolve),
        ),
    )
    return InferredDependencies([*stack, *runtime.unambiguous])


@dataclass(frozen=True)
class DeploymentSetup:
    """Everything a deploy run needs: the runtime pex, the packaged stack and the plan."""

    address: Address
    stack_name: str
    digest: Digest
    python: str
    plan_path: str


def deploy_argv(
    setups: Iterable[DeploymentSetup],
    root: str,
    build_root: BuildRoot,
    dist_dir: DistDir,
    jiti: JitiSubsystem,
    *extra: str,
) -> tuple[str, ...]:
    """The deploy runtime's command line; `root` prefixes paths inside the input digest."""
    setups = tuple(setups)
    return (
        "/bin/sh",
        f"{root}{_PEX}",
        *(arg for setup in setups for arg in ("--plan", f"{root}{setup.plan_path}")),
        "--artifacts",
        root or ".",
        "--state-dir",
        f"{build_root.path}/.jiti",
        "--outputs-dir",
        f"{build_root.path}/{dist_dir.relpath}",
        "--max-parallel",
        str(jiti.max_parallel),
        *(("--dry-run",) if jiti.dry_run else ()),
        *extra,
    )


def runtime_env(setups: Iterable[DeploymentSetup], env: Mapping[str, str]) -> dict[str, str]:
    """`env`, with the runtime's interpreter first on PATH: the pex's /bin/sh boot picks it
    the first time, to create the runtime's venv."""
    python_dir = os.path.dirname(next(iter(setups)).python)
    return {**env, "PATH": os.pathsep.join(filter(None, (python_dir, env.get("PATH"))))}


def stack_name_for(field_set: DeploymentFieldSet, app: str) -> str:
    template = field_set.stack_name.value
    try:
        name = template.format(app=app, env=field_set.environment.value)
    except (KeyError, IndexError, ValueError) as e:
        raise JitiError(
            f"{field_set.address}: field `stack_name`: {template!r} may use only {{app}} and {{env}} ({e})"
        ) from None
    if not STACK_NAME_PATTERN.match(name):
        raise JitiError(
            f"{field_set.address}: field `stack_name`: {name!r} is not a valid stack name "
            "(letters, digits and hyphens, starting with a letter)"
        )
    return name


def stack_set_settings(field_set: DeploymentFieldSet) -> dict | None:
    accounts, regions = field_set.stack_set_accounts.value, field_set.stack_set_regions.value
    if not accounts and not regions:
        return None
    if not accounts or not regions:
        raise JitiError(
            f"{field_set.address}: fields `stack_set_accounts` and `stack_set_regions`: "
            "StackSets mode needs both"
        )
    if field_set.account.value:
        raise JitiError(
            f"{field_set.address}: field `account`: a StackSet is deployed from the current "
            "account; list target accounts in `stack_set_accounts` instead"
        )
    return {
        "accounts": sorted(accounts),
        "regions": list(regions),
        "max_concurrent_percentage": field_set.stack_set_max_concurrent.value,
        "failure_tolerance_percentage": field_set.stack_set_failure_tolerance.value,
    }


@dataclass(frozen=True)
class DeploymentSetupRequest:
    """Shared by the run and deploy rules (a union member can't be requested as its base)."""

    field_set: DeploymentFieldSet


@rule(desc="Prepare a CloudFormation deployment", level=LogLevel.DEBUG)
async def prepare_deployment(request: DeploymentSetupRequest) -> DeploymentSetup:
    field_set = request.field_set
    stack_addresses = await Get(Addresses, UnparsedAddressInputs, _stack_input(field_set))
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
            f"{field_set.address}: field `stack`: {stack_target.address} is a `{stack_target.alias}`, "
            "not a `cloudformation_stack`"
        )
    app = stack_target[CloudFormationStackNameField].value_or_default()
    stack_name = stack_name_for(field_set, app)

    deps = await Get(Targets, DependenciesRequest(field_set.dependencies))
    runtime_roots = [t.address for t in deps if t.has_field(PythonSourceField)]
    pex_from_targets = PexFromTargetsRequest(
        runtime_roots,
        output_filename=_PEX,
        internal_only=False,
        main=EntryPoint(DEPLOY_ENTRY_POINT),
        # A venv pex: the local AWS server it starts keeps running from the venv after the pex is
        # gone. `--sh-boot`: once its venv exists, the pex execs it straight from /bin/sh, with
        # no Python bootstrap reading the 60 MB zip first (~0.3 s per deployment process).
        additional_args=("--venv", "--sh-boot"),
        description="Build jiti's deploy runtime",
    )
    stack, pex, python = await MultiGet(
        Get(SynthesizedStack, SynthesizeStackRequest(stack_target.address)),
        Get(Pex, PexFromTargetsRequest, pex_from_targets),
        Get(
            PythonExecutable,
            InterpreterConstraintsRequest,
            pex_from_targets.to_interpreter_constraints_request(),
        ),
    )
    plan = {
        "address": str(field_set.address),
        # Names the outputs file; parametrized copies (account, region) each get their own.
        "name": re.sub(
            r"[^A-Za-z0-9_.-]+",
            "-",
            field_set.address.target_name + field_set.address.parameters_repr,
        ).strip("-"),
        "app": app,
        "stack_name": stack_name,
        "environment": field_set.environment.value,
        "region": field_set.region.value,
        "account": field_set.account.value,
        "assume_role": field_set.assume_role.value,
        "stack_set": stack_set_settings(field_set),
        "parameters": dict(field_set.parameters.value or {}),
        "tags": dict(field_set.stack_tags.value or {}),
        "role_arn": field_set.role_arn.value,
        "termination_protection": field_set.termination_protection.value,
        "capabilities": list(field_set.capabilities.value or ()),
        "manifest": stack.manifest_path,
        # Deployments this one names in `dependencies` go first when deployed together.
        "depends_on": sorted(str(t.address) for t in deps if t.has_field(DeploymentStackField)),
    }
    plan_path = f"jiti-plans/{field_set.address.path_safe_spec}.json"
    plan_text = json.dumps(plan, indent=2, sort_keys=True) + "\n"
    plan_digest = await Get(Digest, CreateDigest([FileContent(plan_path, plan_text.encode())]))
    digest = await Get(Digest, MergeDigests([pex.digest, stack.digest, plan_digest]))
    return DeploymentSetup(field_set.address, stack_name, digest, python.path, plan_path)


@dataclass(frozen=True)
class CloudFormationDeployFieldSet(DeploymentFieldSet, DeployFieldSet):
    pass


@rule(desc="Deploy a CloudFormation stack")
async def deploy_process(
    field_set: CloudFormationDeployFieldSet,
    jiti: JitiSubsystem,
    build_root: BuildRoot,
    dist_dir: DistDir,
) -> DeployProcess:
    setup, env = await MultiGet(
        Get(DeploymentSetup, DeploymentSetupRequest(field_set)),
        Get(EnvironmentVars, EnvironmentVarsRequest(jiti.deploy_env_vars)),
    )
    process = InteractiveProcess(
        deploy_argv([setup], "", build_root, dist_dir, jiti),
        env=runtime_env([setup], env),
        input_digest=setup.digest,
    )
    return DeployProcess(
        name=f"{setup.stack_name} ({field_set.address})",
        process=process,
        description="(dry run)" if jiti.dry_run else None,
    )


@dataclass(frozen=True)
class CloudFormationRunFieldSet(DeploymentFieldSet, RunFieldSet):
    run_in_sandbox_behavior = RunInSandboxBehavior.NOT_SUPPORTED


@rule(desc="Run a CloudFormation deployment")
async def run_deployment(
    field_set: CloudFormationRunFieldSet,
    jiti: JitiSubsystem,
    build_root: BuildRoot,
    dist_dir: DistDir,
) -> RunRequest:
    setup, path = await MultiGet(
        Get(DeploymentSetup, DeploymentSetupRequest(field_set)),
        Get(EnvironmentVars, EnvironmentVarsRequest(["PATH"])),
    )
    return RunRequest(
        digest=setup.digest,
        args=deploy_argv([setup], "{chroot}/", build_root, dist_dir, jiti),
        extra_env=runtime_env([setup], path),
    )


def rules():
    return [
        *collect_rules(),
        *CloudFormationRunFieldSet.rules(),
        UnionRule(DeployFieldSet, CloudFormationDeployFieldSet),
        UnionRule(InferDependenciesRequest, InferDeploymentDependencies),
    ]
