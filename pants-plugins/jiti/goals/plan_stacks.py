"""`pants plan-stacks`: what merging a change would do to the live stacks, for review.

It selects and packages deployments as `deploy-stacks` does, then runs the deploy runtime once
in `plan` mode, read-only (through a read-only role per account): each selected deployment is
compared with its live stack, template and inputs, and the result is written as JSON (for
`deploy-stacks --jiti-expect-plan` on main) and as Markdown headed by the blast radius (for a
pull-request comment). No change set is created: nothing in the account changes.
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

from jiti.errors import JitiError
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
from jiti_contract import PlaceholderError, check_placeholders

PLAN_ROLE_DEFAULT = "arn:{partition}:iam::{account}:role/jiti-plan"
PLAN_ROLE_PLACEHOLDERS = ("account", "region", "partition")


class PlanStacksSubsystem(GoalSubsystem):
    name = "plan-stacks"
    help = help_text(
        """
        Show what deploying the selected `cloudformation_deployment` targets would change in
        the live stacks, read-only: for each one, new, unchanged or its resource changes
        (modified, replaced, removed), the inputs it would take, and the changes that broaden
        security. Writes `dist/jiti-plan.json` (for `deploy-stacks --jiti-expect-plan`) and
        `dist/jiti-plan.md` (a pull-request comment headed by the blast radius). The CI
        command on a pull request:
        `pants --changed-since=origin/main --changed-dependents=transitive plan-stacks`.
        """
    )

    report = StrOption(
        default="jiti-plan.json",
        help=help_text(
            """
            Where to write the plan as JSON, relative to `--distdir`: a row per deployment with
            what is live (its stack id, last update and version), the version planned, and its
            changes; `deploy-stacks --jiti-expect-plan` reads it.
            """
        ),
    )
    markdown = StrOption(
        default="jiti-plan.md",
        help=help_text(
            """
            Where to write the plan as Markdown, relative to `--distdir`: the blast radius
            first (how many stacks change in how many accounts, resources modified, replaced,
            removed), then each deployment's changes, ready to post as a pull-request comment.
            """
        ),
    )
    assume_role = StrOption(
        default=PLAN_ROLE_DEFAULT,
        help=help_text(
            f"""
            The read-only role to plan with in each account a deployment names (its `account`
            field), `{{account}}`, `{{region}}` and `{{partition}}` filled in: the deployment's own
            `assume_role` (its deploy role) is not used, so a pull request needs no write
            rights. A deployment without `account` is planned with the credentials given. The
            default, `{PLAN_ROLE_DEFAULT}`, is the role of `docs/iam/plan-policy.json` in every
            account; an empty value plans with each deployment's own `assume_role` instead
            (e.g. on a laptop with deploy rights).
            """
        ),
    )


class PlanStacks(Goal):
    subsystem_cls = PlanStacksSubsystem
    environment_behavior = Goal.EnvironmentBehavior.LOCAL_ONLY


def plan_arguments(
    subsystem: PlanStacksSubsystem, jiti: JitiSubsystem, outputs_dir: str
) -> tuple[str, ...]:
    """The runtime's options for `plan` mode; a role template with an unknown placeholder is
    refused before anything is packaged."""
    role = subsystem.assume_role or ""
    try:
        check_placeholders(role, PLAN_ROLE_PLACEHOLDERS)
    except PlaceholderError as e:
        raise JitiError(f"[plan-stacks].assume_role: {e}") from None
    return (
        "--mode",
        "plan",
        "--plan-json",
        f"{outputs_dir}/{subsystem.report}",
        "--plan-markdown",
        f"{outputs_dir}/{subsystem.markdown}",
        "--require-approval",
        jiti.require_approval.value,
        *(("--assume-role", role) if role else ()),
    )


@goal_rule
async def plan_stacks(
    console: Console,
    subsystem: PlanStacksSubsystem,
    jiti: JitiSubsystem,
    build_root: BuildRoot,
    dist_dir: DistDir,
) -> PlanStacks:
    field_sets = await selected_deployments(subsystem.name)
    if not field_sets:
        console.print_stdout("nothing to plan: no cloudformation_deployment is selected")
        return PlanStacks(exit_code=0)
    extra = plan_arguments(subsystem, jiti, f"{build_root.path}/{dist_dir.relpath}")
    await Get(DeployEnvironment)  # where plans look is decided (and checked) before packaging
    setups = await MultiGet(
        Get(DeploymentSetup, DeploymentSetupEntry, DeploymentSetupRequest(fs)) for fs in field_sets
    )
    invocation = await Get(
        DeployInvocation, DeployInvocationEntry, DeployInvocationRequest(tuple(setups), extra=extra)
    )
    process = invocation.interactive_process()
    result = await Effect(InteractiveProcessResult, InteractiveProcess, process)
    return PlanStacks(exit_code=result.exit_code)


def rules():
    return collect_rules()
