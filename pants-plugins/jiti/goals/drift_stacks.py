"""`pants drift-stacks`: CloudFormation drift detection on the selected deployments' stacks.

Nothing is built: where each stack lives is known from the BUILD files. The deploy runtime runs
the detections side by side (`[jiti].max_parallel`), prints a table of what drifted, property
by property, writes `dist/jiti-drift-report.json`, and exits non-zero when something drifted.
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
from jiti.util_rules.inventory import AllStackPlaces
from jiti.util_rules.preview import left_out_line, preview_of


class DriftStacksSubsystem(GoalSubsystem):
    name = "drift-stacks"
    help = help_text(
        """
        Run CloudFormation drift detection on the stacks of the selected
        `cloudformation_deployment` targets, side by side, and show what was changed outside
        CloudFormation: each drifted resource (modified or deleted) and property, expected and
        actual. Exits non-zero when something drifted. Changes nothing. With
        `--jiti-preview=<name>`, the stacks of their copies in that preview environment.
        """
    )

    report = StrOption(
        default="jiti-drift-report.json",
        help="Where to write the results as JSON, relative to `--distdir`.",
    )


class DriftStacks(Goal):
    subsystem_cls = DriftStacksSubsystem
    environment_behavior = Goal.EnvironmentBehavior.LOCAL_ONLY


@goal_rule
async def drift_stacks(
    console: Console,
    subsystem: DriftStacksSubsystem,
    build_root: BuildRoot,
    dist_dir: DistDir,
    jiti: JitiSubsystem,
) -> DriftStacks:
    field_sets = await selected_deployments(subsystem.name)
    preview, field_sets, left_out = preview_of(jiti, field_sets)
    if preview and left_out:
        console.print_stderr(left_out_line(preview, left_out))
    addresses = {fs.address for fs in field_sets}
    if not addresses:
        console.print_stdout("nothing to check: no cloudformation_deployment is selected")
        return DriftStacks(exit_code=0)
    all_places = await Get(AllStackPlaces)
    places = preview.places(all_places) if preview else dict(all_places.places)
    report = f"{build_root.path}/{dist_dir.relpath}/{subsystem.report}"
    invocation = await Get(
        DeployInvocation,
        DeployInvocationEntry,
        InventoryInvocationRequest(
            tuple(p for a, p in sorted(places.items()) if a in addresses),
            ("--mode", "drift", "--report", report),
        ),
    )
    process = invocation.interactive_process()
    result = await Effect(InteractiveProcessResult, InteractiveProcess, process)
    return DriftStacks(exit_code=result.exit_code)


def rules():
    return collect_rules()
