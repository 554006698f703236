"""`pants run` on a `python_awslambda`: its handler, run locally with the environment of the
function its deployment made (`pants run apps/greeter:lambda -- --event event.json`).

The plugin finds the deployment (the ones whose stack packages the Lambda: the only one, the
one in `[jiti].preview_base`, or `[jiti].invoke_deployment`), synthesizes its stack for the
template that says which function runs the Lambda's asset, and builds a venv of the Lambda's
requirements (and boto3, which the Lambda runtime provides) as Pants' own `run` of Python
sources does; the deploy runtime's `invoke` mode reads the live function and runs the handler.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from pants.backend.awslambda.python.target_types import (
    PythonAwsLambdaHandlerField,
    PythonAwsLambdaRuntime,
)
from pants.backend.python.dependency_inference.module_mapper import (
    PythonModuleOwners,
    PythonModuleOwnersRequest,
)
from pants.backend.python.util_rules.faas import (
    ResolvedPythonFaaSHandler,
    ResolvePythonFaaSHandlerRequest,
)
from pants.backend.python.util_rules.pex import Pex, PexRequest, VenvPex, VenvPexRequest
from pants.backend.python.util_rules.pex_environment import PexEnvironment
from pants.backend.python.util_rules.pex_from_targets import (
    ChosenPythonResolve,
    ChosenPythonResolveRequest,
    PexFromTargetsRequest,
)
from pants.backend.python.util_rules.python_sources import (
    PythonSourceFiles,
    PythonSourceFilesRequest,
)
from pants.core.goals.run import RunFieldSet, RunInSandboxBehavior, RunRequest
from pants.engine.addresses import Address, Addresses, UnparsedAddressInputs
from pants.engine.fs import EMPTY_DIGEST, CreateDigest, Digest, DigestSubset, FileContent, PathGlobs
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import (
    AllTargets,
    Dependencies,
    DependenciesRequest,
    TransitiveTargets,
    TransitiveTargetsRequest,
)
from pants.util.logging import LogLevel

from jiti.dependency_inference import stack_address_input
from jiti.errors import JitiError
from jiti.subsystem import JitiSubsystem
from jiti.target_types import DeploymentEnvironmentField, DeploymentStackField, StackAppField
from jiti.util_rules.deploy_runtime import DeployInvocation, DeployInvocationRequest
from jiti.util_rules.inventory import AllStackPlaces
from jiti.util_rules.synthesis import SynthesizedStack, SynthesizeStackRequest
from jiti_contract import InvokeRequest, StackPlace, to_json

# What the Lambda Python runtime provides: deployments leave it out of the zip
# (`!!3rdparty/python:reqs#boto3`), a local run needs it.
RUNTIME_PROVIDED_MODULE = "boto3"


@dataclass(frozen=True)
class LambdaRunFieldSet(RunFieldSet):
    required_fields = (PythonAwsLambdaHandlerField,)
    run_in_sandbox_behavior = RunInSandboxBehavior.NOT_SUPPORTED

    handler: PythonAwsLambdaHandlerField
    runtime: PythonAwsLambdaRuntime


@dataclass(frozen=True)
class LambdaDeployment:
    """A deployment whose stack packages the Lambda."""

    address: Address
    stack: Address
    environment: str
    place: StackPlace


@dataclass(frozen=True)
class LambdaDeploymentsRequest:
    address: Address


@dataclass(frozen=True)
class LambdaDeployments:
    deployments: tuple[LambdaDeployment, ...]


def choose(
    lambda_address: str,
    deployments: tuple[LambdaDeployment, ...],
    wanted: str | None,
    base_environment: str,
) -> LambdaDeployment | None:
    """The deployment whose function the handler runs as: `wanted`, the only one, or the one
    in `base_environment`; None without any. Several and no way to choose: one line naming them."""
    names = ", ".join(str(d.address) for d in deployments) or "none"
    if wanted:
        found = [d for d in deployments if str(d.address) == wanted.lstrip("/")]
        if not found:
            raise JitiError(
                f"[jiti].invoke_deployment: {wanted} is not a deployment whose stack packages "
                f"{lambda_address} (those are: {names})"
            )
        return found[0]
    if len(deployments) <= 1:
        return deployments[0] if deployments else None
    in_base = [d for d in deployments if d.environment == base_environment]
    if len(in_base) == 1:
        return in_base[0]
    raise JitiError(
        f"{lambda_address}: the stacks of {len(deployments)} deployments package it ({names}), "
        f"{len(in_base) or 'none'} of them in the environment `{base_environment}` "
        "([jiti].preview_base): name one with --jiti-invoke-deployment=<address>"
    )


@rule(desc="Find the deployments of a Lambda", level=LogLevel.DEBUG)
async def lambda_deployments(
    request: LambdaDeploymentsRequest, all_targets: AllTargets, places: AllStackPlaces
) -> LambdaDeployments:
    by_address = {tgt.address: tgt for tgt in all_targets}
    deployments = [tgt for tgt in all_targets if tgt.has_field(DeploymentStackField)]
    stacks = await MultiGet(
        Get(Addresses, UnparsedAddressInputs, stack_address_input(tgt[DeploymentStackField]))
        for tgt in deployments
    )
    stack_targets = [
        by_address[address]
        for address in sorted({stack[0] for stack in stacks if stack})
        if address in by_address and by_address[address].has_field(StackAppField)
    ]
    dependencies = await MultiGet(
        Get(Addresses, DependenciesRequest(tgt[Dependencies])) for tgt in stack_targets
    )
    packaging = {
        tgt.address for tgt, deps in zip(stack_targets, dependencies) if request.address in deps
    }
    place_of = dict(places.places)
    return LambdaDeployments(
        tuple(
            LambdaDeployment(
                tgt.address, stack[0], tgt[DeploymentEnvironmentField].value, place_of[tgt.address]
            )
            for tgt, stack in zip(deployments, stacks)
            # a StackSet's instances are in several places: no one function to read
            if stack and stack[0] in packaging and not place_of[tgt.address].stack_set
        )
    )


@dataclass(frozen=True)
class _LambdaPython:
    """A venv of the Lambda's requirements, and its sources (at their paths in the repository)."""

    venv: VenvPex
    sources: PythonSourceFiles


async def _lambda_python(address: Address, pex_env: PexEnvironment) -> _LambdaPython:
    """As Pants' `run` of a Python source builds it: requirements in a venv (sources outside,
    so an edit rebuilds nothing), plus the runtime-provided boto3 of the Lambda's resolve."""
    transitive, resolve = await MultiGet(
        Get(TransitiveTargets, TransitiveTargetsRequest([address])),
        Get(ChosenPythonResolve, ChosenPythonResolveRequest(Addresses([address]))),
    )
    request, sources, provided = await MultiGet(
        Get(
            PexRequest,
            PexFromTargetsRequest(
                [address],
                output_filename="lambda-local.pex",
                internal_only=True,
                include_source_files=False,
                description=f"Build a local environment for {address}",
            ),
        ),
        Get(PythonSourceFiles, PythonSourceFilesRequest(transitive.closure, include_files=True)),
        Get(PythonModuleOwners, PythonModuleOwnersRequest(RUNTIME_PROVIDED_MODULE, resolve.name)),
    )
    if provided.unambiguous:
        runtime_pex = await Get(
            Pex,
            PexFromTargetsRequest(
                provided.unambiguous,
                output_filename="lambda-runtime-provided.pex",
                internal_only=True,
                include_source_files=False,
            ),
        )
        request = dataclasses.replace(request, pex_path=(*request.pex_path, runtime_pex))
    venv = await Get(VenvPex, VenvPexRequest(request, pex_env.in_workspace()))
    return _LambdaPython(venv, sources)


async def _stack_files(address: Address, deployment: LambdaDeployment) -> tuple[Digest, str, str]:
    """The deployment's synthesized template (its digest and path) and the Lambda's asset key."""
    stack = await Get(SynthesizedStack, SynthesizeStackRequest(deployment.stack))
    keys = [asset.key for asset in stack.assets if asset.address == str(address)]
    if not keys:
        raise JitiError(f"{deployment.stack}: {address} is not one of the stack's packaged assets")
    digest = await Get(Digest, DigestSubset(stack.digest, PathGlobs([stack.template_path])))
    return digest, stack.template_path, keys[0]


@rule(desc="Run a Lambda handler locally")
async def run_lambda(
    field_set: LambdaRunFieldSet, jiti: JitiSubsystem, pex_env: PexEnvironment
) -> RunRequest:
    address = field_set.address
    handler, found = await MultiGet(
        Get(ResolvedPythonFaaSHandler, ResolvePythonFaaSHandlerRequest(field_set.handler)),
        Get(LambdaDeployments, LambdaDeploymentsRequest(address)),
    )
    deployment = choose(str(address), found.deployments, jiti.invoke_deployment, jiti.preview_base)
    python = await _lambda_python(address, pex_env)
    template_digest, template, asset_key = EMPTY_DIGEST, None, None
    if deployment is not None:
        template_digest, template, asset_key = await _stack_files(address, deployment)
    request = InvokeRequest(
        address=str(address),
        handler=f"{handler.module}:{handler.func}",
        runtime=field_set.runtime.value or "python3",
        python=python.venv.python.argv0,
        source_roots=tuple(python.sources.source_roots),
        deployment=str(deployment.address) if deployment else None,
        place=deployment.place if deployment else None,
        template=template,
        asset_key=asset_key,
        note=None if deployment else "no deployment's stack packages it",
    )
    request_digest = await Get(
        Digest, CreateDigest([FileContent(InvokeRequest.FILE, to_json(request).encode())])
    )
    invocation = await Get(
        DeployInvocation,
        DeployInvocationRequest(
            (),
            root="{chroot}/",
            extra=("--mode", "invoke", "--invoke", f"{{chroot}}/{InvokeRequest.FILE}"),
            inputs=(
                python.venv.digest,
                python.sources.source_files.snapshot.digest,
                template_digest,
                request_digest,
            ),
        ),
    )
    return RunRequest(
        digest=invocation.digest,
        args=invocation.argv,
        extra_env=invocation.env,
        append_only_caches={
            **pex_env.in_workspace().append_only_caches,
            **(python.venv.append_only_caches or {}),
        },
    )


def rules():
    return [*collect_rules(), *LambdaRunFieldSet.rules()]
