"""Deploying one `cloudformation_deployment`: `pants run` and `pants experimental-deploy`.

Both run the deploy runtime on the packaged stack and its plan; the runtime is the only part of
jiti that talks to AWS.
"""

from __future__ import annotations

from dataclasses import dataclass

from pants.base.build_root import BuildRoot
from pants.core.goals.deploy import DeployFieldSet, DeployProcess
from pants.core.goals.run import RunFieldSet, RunInSandboxBehavior, RunRequest
from pants.core.util_rules.distdir import DistDir
from pants.engine.fs import Digest, MergeDigests
from pants.engine.process import InteractiveProcess
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.unions import UnionRule

from jiti.subsystem import JitiSubsystem
from jiti.util_rules.deploy_runtime import DeployEnvironment, DeployRuntime
from jiti.util_rules.deployment import DeploymentFieldSet, DeploymentSetup, DeploymentSetupRequest


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
    environment, setup, runtime = await MultiGet(
        Get(DeployEnvironment),
        Get(DeploymentSetup, DeploymentSetupRequest(field_set)),
        Get(DeployRuntime),
    )
    digest = await Get(Digest, MergeDigests([runtime.digest, setup.digest]))
    argv = runtime.argv(
        [setup.plan_path],
        root="",
        build_root=build_root,
        dist_dir=dist_dir,
        jiti=jiti,
        environment=environment,
    )
    process = InteractiveProcess(argv, env=runtime.env(environment), input_digest=digest)
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
    environment, setup, runtime = await MultiGet(
        Get(DeployEnvironment),
        Get(DeploymentSetup, DeploymentSetupRequest(field_set)),
        Get(DeployRuntime),
    )
    digest = await Get(Digest, MergeDigests([runtime.digest, setup.digest]))
    argv = runtime.argv(
        [setup.plan_path],
        root="{chroot}/",
        build_root=build_root,
        dist_dir=dist_dir,
        jiti=jiti,
        environment=environment,
    )
    # `pants run` passes the caller's whole environment as well: the runtime keeps only the
    # variables named in `--env-vars`, so it sees what the other goals see.
    return RunRequest(digest=digest, args=argv, extra_env=runtime.env(environment))


def rules():
    return [
        *collect_rules(),
        *CloudFormationRunFieldSet.rules(),
        UnionRule(DeployFieldSet, CloudFormationDeployFieldSet),
    ]
