"""`pants destroy-stacks`: delete the stacks of the selected deployments, or a whole preview.

Nothing is built: the runtime gets the inventory of every deployment (where each stack lives,
from the BUILD files), so it reads every account and region the repository reaches, and the
addresses to destroy (`--deployment`), or, with `[jiti].preview`, the preview's name. A
deployment whose environment is protected is refused here, before anything runs, unless
`[jiti].destroy_protected`. The runtime lists (`--jiti-destroy-confirm` deletes) and writes
`dist/jiti-destroy-report.json`.
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

from jiti.goals.deploy import selected_deployments
from jiti.subsystem import JitiSubsystem
from jiti.util_rules.deploy_runtime import (
    DeployInvocation,
    DeployInvocationEntry,
    InventoryInvocationRequest,
)
from jiti.util_rules.inventory import AllStackPlaces, RepositoryName
from jiti_contract import EXIT_USER_ERROR


class DestroyStacksSubsystem(GoalSubsystem):
    name = "destroy-stacks"
    help = help_text(
        """
        List the stacks of the selected `cloudformation_deployment` targets (with
        `--jiti-preview=<name>`: every stack of that preview environment, wherever the
        repository deploys); with `--jiti-destroy-confirm`, delete them, dependents first. Only
        stacks whose `jiti:repository` and `jiti:deployment` tags are this repository's and
        the deployment's; never one that a live stack left behind depends on; never in a
        protected environment without `--jiti-destroy-protected`. Resources a deletion keeps
        (DeletionPolicy Retain) are listed, or deleted with `--jiti-destroy-data`.
        """
    )

    report = StrOption(
        default="jiti-destroy-report.json",
        help="Where to write what was found (and deleted) as JSON, relative to `--distdir`.",
    )


class DestroyStacks(Goal):
    subsystem_cls = DestroyStacksSubsystem
    environment_behavior = Goal.EnvironmentBehavior.LOCAL_ONLY


def protected(field_sets, jiti: JitiSubsystem) -> str | None:
    """The line refusing deployments of protected environments, or None."""
    found = [
        f"{fs.address} ({fs.environment.value})"
        for fs in field_sets
        if fs.environment.value in jiti.protected_environments
    ]
    if not found or jiti.destroy_protected:
        return None
    return (
        f"destroy-stacks: {', '.join(found)}: a protected environment "
        "([jiti].protected_environments); add --jiti-destroy-protected to destroy it"
    )


def unplaced(field_sets, all_places: AllStackPlaces) -> str | None:
    """The line refusing a selected deployment whose stack's place is unknown, or None."""
    known = {address for address, _ in all_places.places}
    missing = [str(fs.address) for fs in field_sets if fs.address not in known]
    reasons = [u for u in all_places.unknown if any(u.startswith(f"{m}:") for m in missing)]
    return f"destroy-stacks: {reasons[0]}" if reasons else None


def runtime_options(jiti: JitiSubsystem, report: str) -> list[str]:
    extra = ["--mode", "destroy", "--report", report]
    extra += ["--confirm"] if jiti.destroy_confirm else []
    extra += ["--destroy-data"] if jiti.destroy_data else []
    if not jiti.destroy_protected:
        for environment in jiti.protected_environments:
            extra += ["--protected", environment]
    return extra


@goal_rule
async def destroy_stacks(
    console: Console,
    subsystem: DestroyStacksSubsystem,
    jiti: JitiSubsystem,
    build_root: BuildRoot,
    dist_dir: DistDir,
    repository: RepositoryName,
) -> DestroyStacks:
    repository.required("destroy-stacks")  # it deletes what carries the id: never a guess
    report = f"{build_root.path}/{dist_dir.relpath}/{subsystem.report}"
    extra = runtime_options(jiti, report)
    all_places = await Get(AllStackPlaces)
    if jiti.preview:
        all_places.complete("destroy-stacks")  # a region left out would keep its stacks
        extra += ["--preview", jiti.preview]
    else:
        field_sets = await selected_deployments(subsystem.name)
        if not field_sets:
            console.print_stdout("nothing to destroy: no cloudformation_deployment is selected")
            return DestroyStacks(exit_code=0)
        refusal = protected(field_sets, jiti) or unplaced(field_sets, all_places)
        if refusal:
            console.print_stderr(refusal)
            return DestroyStacks(exit_code=EXIT_USER_ERROR)
        for fs in field_sets:
            extra += ["--deployment", str(fs.address)]
    places = tuple(place for _, place in all_places.places)
    invocation = await Get(
        DeployInvocation, DeployInvocationEntry, InventoryInvocationRequest(places, tuple(extra))
    )
    process = invocation.interactive_process()
    result = await Effect(InteractiveProcessResult, InteractiveProcess, process)
    return DestroyStacks(exit_code=result.exit_code)


def rules():
    return collect_rules()
