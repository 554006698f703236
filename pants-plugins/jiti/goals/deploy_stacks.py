"""`pants deploy-stacks`: deploy many `cloudformation_deployment`s as one plan, in one process.

`experimental-deploy` runs one process per deployment, one after another. This goal packages
every selected stack in parallel in the engine, then hands the whole plan to one deploy
runtime, which reads what is live with one batched call per region, deploys only what
differs (dependencies first, independent stacks in parallel), and prints a summary.
Selecting nothing (e.g. `--changed-since` on a docs-only commit) is not an error.
"""

from __future__ import annotations

from pants.base.build_root import BuildRoot
from pants.core.util_rules.distdir import DistDir
from pants.engine.console import Console
from pants.engine.goal import Goal, GoalSubsystem
from pants.engine.process import InteractiveProcess, InteractiveProcessResult
from pants.engine.rules import Effect, Get, MultiGet, collect_rules, goal_rule
from pants.option.option_types import StrOption
from pants.util.strutil import help_text

from jiti.goals.deploy import selected_deployments
from jiti.subsystem import JitiSubsystem
from jiti.util_rules.deploy_runtime import (
    DeployEnvironment,
    DeployInvocation,
    DeployInvocationEntry,
    DeployInvocationRequest,
)
from jiti.util_rules.deployment import (
    DeploymentSetup,
    DeploymentSetupEntry,
    DeploymentSetupRequest,
)
from jiti.util_rules.inventory import AllStackPlaces
from jiti.util_rules.preview import left_out_line, preview_of


class DeployStacksSubsystem(GoalSubsystem):
    name = "deploy-stacks"
    help = help_text(
        """
        Deploy the selected `cloudformation_deployment` targets together: one batched read of
        what is live, only what differs is deployed, dependencies first and independent
        stacks in parallel (`[jiti].max_parallel`), then a summary table. The CI command:
        `pants --changed-since=<ref> --changed-dependents=transitive deploy-stacks`.
        With `--jiti-preview=<name>`, the selected deployments of `[jiti].preview_base` are
        deployed as copies in that preview environment.
        """
    )

    report = StrOption(
        default="jiti-deploy-report.json",
        help=help_text(
            """
            Where to write the summary as JSON, relative to `--distdir`: a row per deployment,
            with its change set's resource changes, property by property.
            """
        ),
    )
    plan = StrOption(
        default="jiti-deploy-report.md",
        help=help_text(
            """
            Where to write the change sets as Markdown, relative to `--distdir` (dry run or
            not): a table of the deployments, then each one's resource changes, replacements
            first, ready to post as a pull-request comment.
            """
        ),
    )


class DeployStacks(Goal):
    subsystem_cls = DeployStacksSubsystem
    environment_behavior = Goal.EnvironmentBehavior.LOCAL_ONLY


@goal_rule
async def deploy_stacks(
    console: Console,
    subsystem: DeployStacksSubsystem,
    build_root: BuildRoot,
    dist_dir: DistDir,
    jiti: JitiSubsystem,
) -> DeployStacks:
    field_sets = await selected_deployments(subsystem.name)
    preview, field_sets, left_out = preview_of(jiti, field_sets)
    if preview and left_out:
        console.print_stderr(left_out_line(preview, left_out))
    if not field_sets:
        console.print_stdout("nothing to deploy: no cloudformation_deployment is selected")
        return DeployStacks(exit_code=0)
    if preview:  # a copy that would be another stack is refused before anything is built
        preview.places(await Get(AllStackPlaces))
    await Get(DeployEnvironment)  # where deploys go is decided (and checked) before packaging
    setups = await MultiGet(
        Get(DeploymentSetup, DeploymentSetupEntry, DeploymentSetupRequest(fs, preview))
        for fs in field_sets
    )
    report = f"{build_root.path}/{dist_dir.relpath}/{subsystem.report}"
    plan = f"{build_root.path}/{dist_dir.relpath}/{subsystem.plan}"
    invocation = await Get(
        DeployInvocation,
        DeployInvocationEntry,
        DeployInvocationRequest(tuple(setups), extra=("--report", report, "--plan-markdown", plan)),
    )
    # `--loop deploy-stacks --jiti-hotswap`: each save redeploys what it changed.
    process = invocation.interactive_process(restartable=jiti.hotswap)
    result = await Effect(InteractiveProcessResult, InteractiveProcess, process)
    return DeployStacks(exit_code=result.exit_code)


def rules():
    return collect_rules()
