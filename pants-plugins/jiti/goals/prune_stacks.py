"""`pants prune-stacks`: delete the stacks this repository deployed and no longer deploys.

Every `cloudformation_deployment` in the repository counts, not only selected ones (the
specs, if any, are not used): a stack is pruned when it carries this repository's
`jiti:repository` tag and no deployment deploys its name to its account and region. Nothing is
built. The deploy runtime lists them (`--jiti-prune-confirm` deletes them) and writes
`dist/jiti-prune-report.json`. After a merge that deletes an app, `--changed-since` selects
nothing for it: `deploy-stacks` deploys what changed, then this removes what was deleted.
"""

from __future__ import annotations

from pants.base.build_root import BuildRoot
from pants.core.util_rules.distdir import DistDir
from pants.engine.console import Console
from pants.engine.goal import Goal, GoalSubsystem
from pants.engine.process import InteractiveProcess, InteractiveProcessResult
from pants.engine.rules import Effect, Get, collect_rules, goal_rule
from pants.option.option_types import StrOption
from pants.util.strutil import help_text

from jiti.subsystem import JitiSubsystem
from jiti.util_rules.deploy_runtime import (
    DeployInvocation,
    DeployInvocationEntry,
    InventoryInvocationRequest,
)
from jiti.util_rules.inventory import AllStackPlaces, RepositoryName


class PruneStacksSubsystem(GoalSubsystem):
    name = "prune-stacks"
    help = help_text(
        """
        List the stacks this repository deployed (tag `jiti:repository`, see
        `[jiti].repository`) that no `cloudformation_deployment` deploys any more, in every
        account and region the repository's deployments reach, with the reason; with
        `--jiti-prune-confirm`, delete them: dependents first, a stack with termination
        protection refused, retained resources reported. `--jiti-prune-assets` adds the unused
        objects of the assets buckets (older than `[jiti].prune_assets_grace_days`), and
        `--jiti-prune-expired` the preview environments whose `jiti:expires` has passed (a
        preview's stack is never pruned otherwise; `destroy-stacks` removes one). Stacks
        without this repository's tag are never touched; without an id (`[jiti].repository`,
        or the git remote `origin`) it refuses to run. In CI after a merge:
        `deploy-stacks` for what changed, then `prune-stacks --jiti-prune-confirm`.
        """
    )

    report = StrOption(
        default="jiti-prune-report.json",
        help="Where to write what was found (and deleted) as JSON, relative to `--distdir`.",
    )


class PruneStacks(Goal):
    subsystem_cls = PruneStacksSubsystem
    environment_behavior = Goal.EnvironmentBehavior.LOCAL_ONLY


@goal_rule
async def prune_stacks(
    console: Console,
    subsystem: PruneStacksSubsystem,
    jiti: JitiSubsystem,
    build_root: BuildRoot,
    dist_dir: DistDir,
    all_places: AllStackPlaces,
    repository: RepositoryName,
) -> PruneStacks:
    repository.required("prune-stacks")  # it deletes what carries the id: never a guess
    all_places.complete("prune-stacks")  # nor what a deployment whose place is unknown deploys
    if not all_places.places:
        console.print_stderr(
            "prune-stacks: the repository has no cloudformation_deployment, so no account and "
            "region to look in"
        )
    report = f"{build_root.path}/{dist_dir.relpath}/{subsystem.report}"
    extra = ["--mode", "prune", "--report", report]
    if jiti.prune_confirm:
        extra.append("--confirm")
    if jiti.prune_expired:
        extra.append("--prune-expired")
    if jiti.prune_assets:
        extra += ["--prune-assets", "--assets-grace-days", str(jiti.prune_assets_grace_days)]
    places = tuple(place for _, place in all_places.places)
    invocation = await Get(
        DeployInvocation, DeployInvocationEntry, InventoryInvocationRequest(places, tuple(extra))
    )
    process = invocation.interactive_process()
    result = await Effect(InteractiveProcessResult, InteractiveProcess, process)
    return PruneStacks(exit_code=result.exit_code)


def rules():
    return collect_rules()
