"""jiti's deploy runtime (infra-lib's `jiti_deploy`), built once as a pex for every deployment,
and what it is run with: where deployments go and the environment they see.

The runtime is built by a rule with no parameters, as Pants' helm backend builds its
`k8s_parser`: every deployment of a run (and every run, while its sources are unchanged) uses
the same pex. Every goal that deploys runs it with the same environment (`DeployEnvironment`).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Iterable, Mapping

from pants.backend.python.dependency_inference.module_mapper import (
    PythonModuleOwners,
    PythonModuleOwnersRequest,
)
from pants.backend.python.subsystems.setup import PythonSetup
from pants.backend.python.target_types import EntryPoint, PexLayout
from pants.backend.python.util_rules.interpreter_constraints import InterpreterConstraints
from pants.backend.python.util_rules.pex import Pex, PexRequest
from pants.backend.python.util_rules.pex_environment import PythonExecutable
from pants.backend.python.util_rules.pex_from_targets import (
    InterpreterConstraintsRequest,
    PexFromTargetsRequest,
)
from pants.base.build_root import BuildRoot
from pants.core.util_rules.distdir import DistDir
from pants.engine.addresses import Address
from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.engine.environment import EnvironmentName
from pants.engine.fs import Digest, MergeDigests
from pants.engine.process import InteractiveProcess
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.unions import UnionRule, union
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from jiti.dependency_inference import DEPLOY_ENTRY_POINT, DEPLOY_MODULE
from jiti.errors import JitiError
from jiti.subsystem import DEPLOY_ENV_VARS, DeployTarget, JitiSubsystem
from jiti.util_rules import runtime_files
from jiti.util_rules.deployment import DeploymentSetup
from jiti.util_rules.inventory import InventoryFile, InventoryRequest
from jiti.util_rules.runtime_files import DeployRuntimeTool, PackagedRuntimeFiles, RuntimeSource
from jiti_contract import (
    ASSETS_BUCKET_PLACEHOLDERS,
    PlaceholderError,
    StackPlace,
    check_placeholders,
)


@dataclass(frozen=True)
class DeployRuntime:
    digest: Digest  # holds the pex at `pex_path`
    pex_path: str
    python: str  # the interpreter that creates the pex's venv on first use

    def argv(
        self,
        plan_paths: Iterable[str],
        *,
        root: str,
        build_root: BuildRoot,
        dist_dir: DistDir,
        jiti: JitiSubsystem,
        environment: DeployEnvironment,
        extra: Iterable[str] = (),
    ) -> tuple[str, ...]:
        """The runtime's command line; `root` prefixes paths inside the input digest. Modes
        other than deploying (`--mode`, in `extra`) pass no plans, but for `plan`."""
        extra = tuple(extra)
        return (
            "/bin/sh",
            f"{root}{self.pex_path}",
            *(arg for path in plan_paths for arg in ("--plan", f"{root}{path}")),
            "--artifacts",
            root or ".",
            "--state-dir",
            f"{build_root.path}/.jiti",
            "--build-root",
            build_root.path,
            "--outputs-dir",
            f"{build_root.path}/{dist_dir.relpath}",
            "--max-parallel",
            str(jiti.max_parallel),
            "--target",
            environment.target,
            "--assets-bucket",
            jiti.assets_bucket,
            "--env-vars",
            ",".join(environment.names),
            *(("--dry-run",) if jiti.dry_run else ()),
            *(("--force",) if jiti.force else ()),
            *(
                ("--fail-on-replace", ",".join(jiti.fail_on_replace_types))
                if jiti.fail_on_replace and jiti.fail_on_replace_types
                else ()
            ),
            *_expect_plan(jiti, build_root, extra),
            *(
                ("--hotswap", "--protected-environments", ",".join(jiti.protected_environments))
                if jiti.hotswap
                else ()
            ),
            *(("--hotswap-in-ci",) if jiti.hotswap and jiti.hotswap_in_ci else ()),
            *extra,
        )

    def env(self, environment: DeployEnvironment) -> dict[str, str]:
        """The deploy's environment, with the runtime's interpreter first on PATH: the pex's
        /bin/sh boot picks it the first time, to create the runtime's venv."""
        env = dict(environment.env)
        python_dir = os.path.dirname(self.python)
        return {**env, "PATH": os.pathsep.join(filter(None, (python_dir, env.get("PATH"))))}


def _expect_plan(jiti: JitiSubsystem, build_root: BuildRoot, extra: Iterable[str]) -> tuple:
    """`--expect-plan` for a deploy (the modes in `extra` do not deploy), as an absolute path:
    the runtime runs in a sandbox, the user names the file from the build root."""
    if not jiti.expect_plan or "--mode" in extra:
        return ()
    return ("--expect-plan", os.path.join(build_root.path, jiti.expect_plan))


@dataclass(frozen=True)
class DeployEnvironment:
    """Where deployments go (`local`, `aws` or `auto`) and the environment they see."""

    target: str
    names: tuple[str, ...]  # the variables a deploy may see; the runtime drops all others
    env: FrozenDict[str, str]  # their values here


def _is_ci(env: Mapping[str, str]) -> bool:
    return env.get("CI", "").lower() not in ("", "0", "false", "no")


@rule(desc="Decide where deployments go", level=LogLevel.DEBUG)
async def deploy_environment(jiti: JitiSubsystem) -> DeployEnvironment:
    entries = (*DEPLOY_ENV_VARS, *jiti.extra_env_vars)  # `NAME` or `NAME=value`
    env = await Get(EnvironmentVars, EnvironmentVarsRequest(entries))
    # Names only: a value goes in the environment, never on the command line (`ps` shows it).
    names = tuple(dict.fromkeys(entry.split("=", 1)[0] for entry in entries))
    if _is_ci(env) and jiti.target in (None, DeployTarget.auto):
        raise JitiError(
            f"[jiti].target is {jiti.target.value if jiti.target else 'not set'} and CI is set: a CI "
            'job must say where it deploys. Set `target = "aws"` (or "local") under [jiti] '
            "in pants.toml or a CI config file, or pass --jiti-target=aws."
        )
    try:
        check_placeholders(jiti.assets_bucket, ASSETS_BUCKET_PLACEHOLDERS)
    except PlaceholderError as e:
        raise JitiError(f"[jiti].assets_bucket: {e}") from None
    target = jiti.target.value if jiti.target else DeployTarget.local.value
    return DeployEnvironment(target, names, FrozenDict(env))


# The runtime's pex: a venv pex, so the local AWS server it starts keeps running from the venv
# after the pex is gone. `--sh-boot`: once its venv exists, the pex execs it straight from
# /bin/sh, with no Python bootstrap reading the zip first (~0.3 s per deployment process).
RUNTIME_PEX = "jiti-deploy.pex"
RUNTIME_PEX_ARGS = ("--venv", "--sh-boot")


async def _repository_runtime(owners: tuple[Address, ...]) -> tuple[PexRequest, PythonExecutable]:
    """The runtime built from this repository's `jiti_deploy` sources and their resolve."""
    request = PexFromTargetsRequest(
        owners,
        output_filename=RUNTIME_PEX,
        internal_only=False,
        main=EntryPoint(DEPLOY_ENTRY_POINT),
        additional_args=RUNTIME_PEX_ARGS,
        description="Build jiti's deploy runtime",
    )
    return await MultiGet(
        Get(PexRequest, PexFromTargetsRequest, request),
        Get(
            PythonExecutable,
            InterpreterConstraintsRequest,
            request.to_interpreter_constraints_request(),
        ),
    )


async def _plugin_runtime(
    tool: DeployRuntimeTool, python_setup: PythonSetup
) -> tuple[PexRequest, PythonExecutable]:
    """The runtime built from the plugin's own files, with its lockfile (or the team's
    resolve, `[jiti-deploy-runtime].install_from_resolve`)."""
    files = await Get(PackagedRuntimeFiles)
    constraints = (
        InterpreterConstraints(python_setup.interpreter_constraints)
        if tool.install_from_resolve
        else tool.interpreter_constraints
    )
    request = dataclasses.replace(
        tool.to_pex_request(interpreter_constraints=constraints, sources=files.digest),
        output_filename=RUNTIME_PEX,
        internal_only=False,
        # A tool's pex is internal, so packed (a directory); the runtime is run as one file.
        layout=PexLayout.ZIPAPP,
        additional_args=RUNTIME_PEX_ARGS,
        description="Build jiti's deploy runtime",
    )
    return request, await Get(PythonExecutable, InterpreterConstraints, constraints)


@rule(desc="Build jiti's deploy runtime", level=LogLevel.DEBUG)
async def build_deploy_runtime(python_setup: PythonSetup, tool: DeployRuntimeTool) -> DeployRuntime:
    owners = await Get(
        PythonModuleOwners,
        PythonModuleOwnersRequest(DEPLOY_MODULE, resolve=python_setup.default_resolve),
    )
    source = tool.source
    if source == RuntimeSource.auto:
        source = RuntimeSource.repository if owners.unambiguous else RuntimeSource.plugin
    if source == RuntimeSource.repository and not owners.unambiguous:
        raise JitiError(
            f"[jiti-deploy-runtime].source is `repository`, but no `python_source` in the "
            f"`{python_setup.default_resolve}` resolve owns {DEPLOY_MODULE}: keep "
            "infra-lib/jiti_deploy in the repository, with its BUILD file, or set `source` to "
            "`plugin`"
        )
    if source == RuntimeSource.repository:
        request, python = await _repository_runtime(owners.unambiguous)
    else:
        request, python = await _plugin_runtime(tool, python_setup)
    pex = await Get(Pex, PexRequest, request)
    return DeployRuntime(pex.digest, RUNTIME_PEX, python.path)


@union(in_scope_types=[EnvironmentName])
class DeployInvocationEntry:
    """How the goal rules ask for a `DeployInvocation`:
    `Get(DeployInvocation, DeployInvocationEntry, <a member>)`, for the reason given at
    `DeploymentSetupEntry`: the deploy runtime's rules are then built once, not once per goal."""


@dataclass(frozen=True)
class DeployInvocationRequest(DeployInvocationEntry):
    """Run the deploy runtime on these deployments (`root` prefixes paths inside the digest:
    `{chroot}/` for `pants run`); `inputs` are more files it reads (the inventory of the modes
    that take no plans: prune and drift)."""

    setups: tuple[DeploymentSetup, ...]
    root: str = ""
    extra: tuple[str, ...] = ()
    inputs: tuple[Digest, ...] = ()


@dataclass(frozen=True)
class DeployInvocation:
    """Everything to run the deploy runtime: its inputs, command line and environment."""

    digest: Digest
    argv: tuple[str, ...]
    env: FrozenDict[str, str]

    def interactive_process(self, *, restartable: bool = False) -> InteractiveProcess:
        """The run as the goals start it: in the foreground, its output the user's.
        `restartable`: under `--loop`, Pants runs it again when its inputs change (a process
        that is not restartable is run once per `--loop` session in Pants 2.17)."""
        return InteractiveProcess(
            self.argv, env=self.env, input_digest=self.digest, restartable=restartable
        )


@rule(desc="Set up jiti's deploy runtime", level=LogLevel.DEBUG)
async def deploy_invocation(
    request: DeployInvocationRequest, jiti: JitiSubsystem, build_root: BuildRoot, dist_dir: DistDir
) -> DeployInvocation:
    environment, runtime = await MultiGet(Get(DeployEnvironment), Get(DeployRuntime))
    digest = await Get(
        Digest,
        MergeDigests(
            [runtime.digest, *(setup.digest for setup in request.setups), *request.inputs]
        ),
    )
    argv = runtime.argv(
        [setup.plan_path for setup in request.setups],
        root=request.root,
        build_root=build_root,
        dist_dir=dist_dir,
        jiti=jiti,
        environment=environment,
        extra=request.extra,
    )
    return DeployInvocation(digest, argv, FrozenDict(runtime.env(environment)))


@dataclass(frozen=True)
class InventoryInvocationRequest(DeployInvocationEntry):
    """Run the deploy runtime in a mode that reads no plans, only where stacks live (`extra`
    gives the mode and its options): `prune-stacks` and `drift-stacks`."""

    places: tuple[StackPlace, ...]
    extra: tuple[str, ...]


@rule(desc="Set up jiti's deploy runtime on an inventory of stacks", level=LogLevel.DEBUG)
async def inventory_invocation(request: InventoryInvocationRequest) -> DeployInvocation:
    _, inventory = await MultiGet(  # where deploys go is decided (and checked) first
        Get(DeployEnvironment), Get(InventoryFile, InventoryRequest(request.places))
    )
    return await Get(
        DeployInvocation,
        DeployInvocationRequest(
            (), extra=("--inventory", inventory.path, *request.extra), inputs=(inventory.digest,)
        ),
    )


def rules():
    return [
        *collect_rules(),
        *runtime_files.rules(),
        UnionRule(DeployInvocationEntry, DeployInvocationRequest),
        UnionRule(DeployInvocationEntry, InventoryInvocationRequest),
    ]
