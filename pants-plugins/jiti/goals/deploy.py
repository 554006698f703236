"""Deploying one `cloudformation_deployment`: `pants run` and `pants experimental-deploy`.

Both run the deploy runtime on the packaged stack and its plan; the runtime is the only part of
jiti that talks to AWS.
"""

from __future__ import annotations

from dataclasses import dataclass

from pants.core.goals.deploy import DeployFieldSet, DeployProcess
from pants.core.goals.run import RunFieldSet, RunInSandboxBehavior, RunRequest
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import (
    NoApplicableTargetsBehavior,
    TargetRootsToFieldSets,
    TargetRootsToFieldSetsRequest,
)
from pants.engine.unions import UnionRule

from jiti.subsystem import JitiSubsystem
from jiti.util_rules.deploy_runtime import (
    DeployEnvironment,
    DeployInvocation,
    DeployInvocationRequest,
)
from jiti.util_rules.deployment import DeploymentFieldSet, DeploymentSetup, DeploymentSetupRequest


@dataclass(frozen=True)
class CloudFormationDeployFieldSet(DeploymentFieldSet, DeployFieldSet):
    pass


@rule(desc="Deploy a CloudFormation stack")
async def deploy_process(
    field_set: CloudFormationDeployFieldSet, jiti: JitiSubsystem
) -> DeployProcess:
    setup, _ = await MultiGet(  # where deploys go is decided (and checked) first
        Get(DeploymentSetup, DeploymentSetupRequest(field_set)), Get(DeployEnvironment)
    )
    invocation = await Get(DeployInvocation, DeployInvocationRequest((setup,)))
    return DeployProcess(
        name=f"{setup.stack_name} ({field_set.address})",
        process=invocation.interactive_process(),
        description="(dry run)" if jiti.dry_run else None,
    )


@dataclass(frozen=True)
class CloudFormationRunFieldSet(DeploymentFieldSet, RunFieldSet):
    run_in_sandbox_behavior = RunInSandboxBehavior.NOT_SUPPORTED


@rule(desc="Run a CloudFormation deployment")
async def run_deployment(field_set: CloudFormationRunFieldSet) -> RunRequest:
    setup, _ = await MultiGet(
        Get(DeploymentSetup, DeploymentSetupRequest(field_set)), Get(DeployEnvironment)
    )
    invocation = await Get(DeployInvocation, DeployInvocationRequest((setup,), root="{chroot}/"))
    # `pants run` passes the caller's whole environment as well: the runtime keeps only the
    # variables named in `--env-vars`, so it sees what the other goals see.
    return RunRequest(digest=invocation.digest, args=invocation.argv, extra_env=invocation.env)


async def selected_deployments(goal: str) -> list[CloudFormationDeployFieldSet]:
    """The `cloudformation_deployment`s the command line selects, by address: selecting none
    (a docs-only change) is an empty list, never an error."""
    roots = await Get(
        TargetRootsToFieldSets,
        TargetRootsToFieldSetsRequest(
            DeployFieldSet,
            goal_description=f"the `{goal}` goal",
            no_applicable_targets_behavior=NoApplicableTargetsBehavior.ignore,
        ),
    )
    return sorted(
        (fs for fs in roots.field_sets if isinstance(fs, CloudFormationDeployFieldSet)),
        key=lambda fs: fs.address,
    )


def rules():
    return [
        *collect_rules(),
        *CloudFormationRunFieldSet.rules(),
        UnionRule(DeployFieldSet, CloudFormationDeployFieldSet),
    ]
