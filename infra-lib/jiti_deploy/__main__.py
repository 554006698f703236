"""The deploy runtime, run by `pants run`, `pants experimental-deploy`, `pants deploy-stacks`,
`pants prune-stacks` and `pants drift-stacks`.

Usage: jiti-deploy [--mode deploy] --plan PLAN [--plan PLAN ...] --artifacts DIR
                   [--fail-on-replace TYPE,...] [--plan-markdown FILE] [--dry-run] [--force]
                   [--expect-plan FILE]
       jiti-deploy --mode plan --plan PLAN [--plan PLAN ...] --artifacts DIR
                   --plan-json FILE [--plan-markdown FILE]
                   [--require-approval never|broadening] [--assume-role TEMPLATE]
       jiti-deploy --mode prune --inventory FILE [--confirm] [--prune-assets]
                   [--assets-grace-days N] [--prune-expired]
       jiti-deploy --mode drift --inventory FILE
       jiti-deploy --mode destroy --inventory FILE (--deployment ADDRESS ... | --preview NAME)
                   [--confirm] [--destroy-data] [--protected ENV ...]
       jiti-deploy --mode invoke --invoke FILE [--event FILE|-]
       each with [--state-dir DIR] [--build-root DIR] [--outputs-dir DIR] [--max-parallel N]
                 [--report FILE] [--target local|aws|auto] [--assets-bucket NAME]
                 [--env-vars NAME,...]

One plan deploys one stack; several are deployed together: one batched read of what is live
per region, then only what differs, in dependency order, with a summary table. `prune` deletes
(with `--confirm`; lists otherwise) the stacks this repository deployed and no longer deploys;
`drift` runs CloudFormation's drift detection on the inventory's stacks; `destroy` deletes
(with `--confirm`) the stacks of the deployments named, or of a whole preview environment.
`plan` shows what a
deploy would change with read-only calls only (`plan_mode.py`), as JSON and Markdown, flagging
what widens access (`plan_security.py`); a deploy with `--expect-plan` refuses each deployment
that is not as that plan reviewed it (`expect_plan.py`). `invoke` runs a Lambda
handler on this machine with its deployed function's environment (`invoke.py`).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from jiti_contract import ASSETS_BUCKET_DEFAULT, EXIT_USER_ERROR, TARGETS, Inventory, from_json
from jiti_deploy import (
    batch,
    checks,
    deployment,
    destroy,
    drift,
    expect_plan,
    hotswap,
    interrupt,
    invoke,
    live,
    masking,
    output,
    plan_markdown,
    plan_mode,
    plan_output,
    prune,
    report,
    runner,
)
from jiti_deploy.destinations import Destinations
from jiti_deploy.errors import DeployError
from jiti_deploy.local_aws import LocalAwsError
from jiti_deploy.source import read as source_of

log = output.log


def error(message: str, code: int = 1) -> int:
    output.err(f"error: {message}")
    return code


def keep_only(names: list[str]) -> None:
    """Drop every environment variable not in `names`: `pants run` passes the caller's whole
    environment, the other goals only these, and all of them must deploy the same way. An
    entry `NAME=value` keeps NAME (its value comes in the environment, never in `names`)."""
    kept = {entry.split("=", 1)[0] for entry in names}
    for name in list(os.environ):
        if name not in kept:
            del os.environ[name]


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="jiti-deploy", description="Deploy packaged CloudFormation stacks."
    )
    parser.add_argument("--mode", choices=MODES, default="deploy")
    parser.add_argument("--plan", type=Path, action="append", default=[])
    parser.add_argument("--artifacts", type=Path, default=None)
    parser.add_argument(
        "--inventory", type=Path, default=None, help="prune and drift: the stacks to look at"
    )
    parser.add_argument("--state-dir", type=Path, default=Path(".jiti"))
    parser.add_argument(
        "--build-root", type=Path, default=None, help="the repository, for the commit deployed"
    )
    parser.add_argument("--outputs-dir", type=Path, default=None)
    parser.add_argument("--max-parallel", type=int, default=4)
    parser.add_argument("--report", type=Path, default=None, help="write the summary as JSON here")
    parser.add_argument("--target", choices=TARGETS, default="local")
    parser.add_argument("--assets-bucket", default=ASSETS_BUCKET_DEFAULT)
    parser.add_argument(
        "--env-vars", default=None, help="the only variables to keep, comma-separated"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="show the change sets, change nothing"
    )
    parser.add_argument(
        "--force", action="store_true", help="deploy even what is already live at this version"
    )
    parser.add_argument(
        "--fail-on-replace",
        default="",
        help="resource types, comma-separated: stop before executing a change set that would "
        "replace or delete one",
    )
    parser.add_argument(
        "--plan-markdown", type=Path, default=None, help="write the change sets as Markdown here"
    )
    parser.add_argument(
        "--hotswap",
        action="store_true",
        help="change Lambda code, environment and site content directly when nothing else differs",
    )
    parser.add_argument(
        "--protected-environments",
        default="",
        help="environments never hotswapped, comma-separated",
    )
    parser.add_argument("--hotswap-in-ci", action="store_true", help="hotswap even when CI is set")
    parser.add_argument("--confirm", action="store_true", help="prune: delete, not only list")
    parser.add_argument(
        "--prune-assets",
        action="store_true",
        help="prune: unused objects of the assets buckets too",
    )
    parser.add_argument("--assets-grace-days", type=float, default=7.0)
    _plan_arguments(parser)
    parser.add_argument(
        "--deployment", action="append", default=[], help="destroy: a deployment to destroy"
    )
    parser.add_argument("--preview", default=None, help="destroy: the preview to destroy whole")
    parser.add_argument(
        "--destroy-data", action="store_true", help="destroy: delete what a deletion keeps too"
    )
    parser.add_argument(
        "--protected", action="append", default=[], help="destroy: an environment to refuse"
    )
    parser.add_argument(
        "--prune-expired",
        action="store_true",
        help="prune: also the preview environments' stacks whose jiti:expires has passed",
    )
    parser.add_argument("--invoke", type=Path, default=None, help="invoke: the request")
    parser.add_argument("--event", default=None, help="invoke: the event's JSON file, - for stdin")
    args = parser.parse_args(argv)
    if args.mode in ("deploy", "plan") and not (args.plan and args.artifacts):
        parser.error(f"--mode {args.mode} needs --plan and --artifacts")
    if args.mode == "plan" and not args.plan_json:
        parser.error("--mode plan needs --plan-json")
    if args.mode == "invoke" and not (args.invoke and args.artifacts):
        parser.error("--mode invoke needs --invoke and --artifacts")
    if args.mode in ("prune", "drift", "destroy") and not args.inventory:
        parser.error(f"--mode {args.mode} needs --inventory")
    if args.mode == "destroy" and bool(args.deployment) == bool(args.preview):
        parser.error("--mode destroy needs --deployment (one or more) or --preview, not both")
    return args


def _plan_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of the read-only plan, and of the deploy that follows it."""
    parser.add_argument("--plan-json", type=Path, default=None, help="plan: write it as JSON here")
    parser.add_argument(
        "--require-approval",
        choices=("never", "broadening"),
        default="never",
        help="plan: exit 1 when a change widens access (broadening)",
    )
    parser.add_argument(
        "--assume-role",
        default=None,
        help="plan: the role to read each account with, `{account}` and `{region}` filled",
    )
    parser.add_argument(
        "--expect-plan",
        type=Path,
        default=None,
        help="deploy: refuse each deployment that is not as this JSON plan reviewed it",
    )


MODES = ("deploy", "plan", "prune", "drift", "destroy", "invoke")


def run(args: argparse.Namespace, outcomes: list, extra: dict) -> None:
    """Do what the mode says, adding each deployment's (or stack's) outcome to `outcomes` and
    what else the report holds to `extra`."""
    destinations = Destinations(
        args.target, args.state_dir.resolve(), log=log, assets_bucket=args.assets_bucket
    )
    if args.mode == "deploy":
        deploy(args, destinations, outcomes)
        return
    if args.mode == "plan":
        extra["plan"] = plan(args, destinations)
        return
    try:
        inventory = from_json(Inventory, args.inventory.read_text())
    except (OSError, ValueError, TypeError) as e:
        raise UserError(f"cannot read the inventory {args.inventory}: {e}") from None
    problems = checks.place_problems(inventory.stacks)
    if problems:
        raise UserError("\n".join(problems))
    if args.mode == "drift":
        outcomes += drift.run(
            destinations, inventory.stacks, max_parallel=args.max_parallel, log=log
        )
        return
    extra.update(repository=inventory.repository, confirmed=args.confirm, assets=[])
    if not inventory.repository:  # it deletes what carries the id: never without one
        raise UserError(
            f"{args.mode}: no repository id: set `repository` under `[jiti]` in pants.toml"
        )
    if args.mode == "destroy":
        destroy_mode(args, destinations, inventory, outcomes, extra)
        return
    try:
        prune.run(
            destinations,
            inventory,
            confirm=args.confirm,
            max_parallel=args.max_parallel,
            assets_grace_days=args.assets_grace_days if args.prune_assets else None,
            outcomes=outcomes,
            assets=extra["assets"],
            log=log,
            prune_expired=args.prune_expired,
        )
    except prune.Refused as e:
        raise UserError(str(e)) from None


def destroy_mode(args, destinations: Destinations, inventory, outcomes: list, extra: dict) -> None:
    """Delete the stacks of the deployments named, or of the preview."""
    del extra["assets"]
    extra.update(preview=args.preview, destroy_data=args.destroy_data)
    try:
        destroy.run(
            destinations,
            inventory,
            selected=tuple(args.deployment),
            preview=args.preview,
            confirm=args.confirm,
            destroy_data=args.destroy_data,
            protected=tuple(args.protected),
            max_parallel=args.max_parallel,
            outcomes=outcomes,
            log=log,
        )
    except (prune.Refused, destroy.Refused) as e:
        raise UserError(str(e)) from None


def _loaded(args: argparse.Namespace) -> list:
    """The deployments the plans name, checked before any call."""
    source = source_of(args.build_root)
    now = time.time()  # one expiry for every preview stack of the run
    deployments = [
        deployment.load(p, args.artifacts, args.outputs_dir, source, now) for p in args.plan
    ]
    masking.add(v for d in deployments for v in d.secret_values)
    problems = checks.problems(deployments)
    if problems:
        raise UserError("\n".join(problems))
    return deployments


def plan(args: argparse.Namespace, destinations: Destinations) -> list[dict]:
    """What a deploy would change, read-only; each deployment's entry of the JSON plan."""
    deployments = _loaded(args)
    return plan_mode.run(
        destinations,
        deployments,
        assume_role=args.assume_role,
        max_parallel=args.max_parallel,
        log=log,
    )


def _expected(args: argparse.Namespace):
    if args.expect_plan is None:
        return None
    try:
        return expect_plan.load(args.expect_plan)
    except ValueError as e:
        raise UserError(f"--expect-plan: {e}") from None


def deploy(args: argparse.Namespace, destinations: Destinations, outcomes: list) -> None:
    """Deploy what the plans say."""
    expected = _expected(args)
    deployments = _loaded(args)
    fail_on_replace = tuple(t for t in args.fail_on_replace.split(",") if t)
    swaps = hotswap_options(args, deployments)
    if len(deployments) == 1 and not args.report:  # `pants run`: no table for one stack
        d = deployments[0]
        destination = destinations.get(d.plan.account, d.plan.region, d.role_to_assume)
        stacks = live.LiveStacks(destinations)
        runner.deploy(
            destination,
            d,
            dry_run=args.dry_run,
            force=args.force,
            log=log,
            fail_on_replace=fail_on_replace,
            stacks=stacks,
            expected=expected,
            hotswap_options=swaps,
        )
        return
    outcomes += batch.run(
        destinations,
        deployments,
        dry_run=args.dry_run,
        force=args.force,
        max_parallel=args.max_parallel,
        log=log,
        fail_on_replace=fail_on_replace,
        expected=expected,
        hotswap_options=swaps,
    )


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def hotswap_options(args: argparse.Namespace, deployments: list) -> hotswap.Options:
    """Whether to hotswap, refused (before any call) for any deployment that must not be."""
    marks_dir = args.state_dir.resolve() / "hotswapped"
    if not args.hotswap:
        return hotswap.Options(False, marks_dir)
    protected = tuple(e for e in args.protected_environments.split(",") if e)
    refused = [
        hotswap.refusal(d, protected=protected, in_ci=_in_ci(), allow_in_ci=args.hotswap_in_ci)
        for d in deployments
    ]
    if any(refused):
        raise UserError("\n".join(r for r in refused if r))
    return hotswap.Options(True, marks_dir)


class UserError(DeployError):
    """A mistake in the plans, found before any call: exit code EXIT_USER_ERROR."""


def main(argv: list[str]) -> int:
    started = time.monotonic()
    args = parse(argv)
    if args.env_vars is not None:
        keep_only(args.env_vars.split(","))
    if args.mode == "invoke":  # the handler's output and exit code, no summary
        return invoke.main(args)
    interrupt.install(log)
    outcomes: list = []
    extra: dict = {}
    error_message, code = None, 0
    try:
        run(args, outcomes, extra)
    except interrupt.Interrupted as e:
        error_message, code = str(e), interrupt.exit_code()
        output.err(str(e))
    except UserError as e:
        error_message, code = str(e), error(str(e), EXIT_USER_ERROR)
    except (DeployError, LocalAwsError) as e:
        error_message, code = str(e), error(str(e))
    except (ClientError, BotoCoreError) as e:  # AWS said no: its message, never a traceback
        error_message, code = f"AWS: {e}", error(f"AWS: {e}")
    except Exception as e:  # noqa: BLE001 - e.g. an OSError: one line, a report
        error_message = f"{type(e).__name__}: {e}"
        code = error(error_message)
    elapsed_s = round(time.monotonic() - started, 2)
    if args.mode == "deploy" and outcomes:
        log("")
        log(report.summary(outcomes))
        log(f"{len(outcomes)} deployments in {elapsed_s:.1f}s")
    elif args.mode == "drift":
        log("")
        log(drift.summary(outcomes, elapsed_s))
    elif args.mode == "prune":
        log("")
        log(prune.summary(outcomes, extra.get("assets", []), args.confirm, elapsed_s))
    elif args.mode == "destroy":
        log("")
        log(destroy.summary(outcomes, args.confirm, elapsed_s))
    if args.report:
        report.write(
            args.report,
            outcomes,
            elapsed_s,
            interrupted=interrupt.requested(),
            error=error_message,
            key="deployments" if args.mode == "deploy" else "stacks",
            extra=extra,
        )
        log(f"report: {args.report}")
    if args.mode == "plan":
        return finish_plan(args, extra.get("plan"), code)
    if args.plan_markdown:
        args.plan_markdown.parent.mkdir(parents=True, exist_ok=True)
        args.plan_markdown.write_text(
            plan_markdown.render(
                masking.mask(outcomes), dry_run=args.dry_run, error=masking.mask(error_message)
            )
        )
        log(f"plan: {args.plan_markdown}")
    if interrupt.requested():
        return interrupt.exit_code()
    if code:
        return code
    return 0 if all(o.result.ok for o in outcomes) else 1


def finish_plan(args: argparse.Namespace, entries: list[dict] | None, code: int) -> int:
    """Write the plan (when one was made) and say how the run ends: 1 when a deployment could
    not be planned, or, with `--require-approval broadening`, when a change widens access."""
    if entries is None:
        return code or 1
    plan_output.write_json(args.plan_json, entries)
    log(f"plan: {args.plan_json}")
    if args.plan_markdown:
        plan_output.write_markdown(args.plan_markdown, entries)
        log(f"plan: {args.plan_markdown}")
    log(plan_output.blast_radius(plan_output.summary(entries)))
    if interrupt.requested():
        return interrupt.exit_code()
    flags = [(e, f) for e in entries for f in e["broadening"]]
    if args.require_approval == "broadening" and flags:
        for e, f in flags:
            output.err(
                masking.mask(f"approval required: {e['address']}: {f['logical_id']}: {f['detail']}")
            )
        return code or 1
    return code or (1 if any(e["status"] == "failed" for e in entries) else 0)


def exit_when_written(code: int) -> None:
    """Exit once the output is written; at once if nobody reads it (the report is on disk)."""
    if output.flushed(timeout_s=10):
        sys.exit(code)
    os._exit(code)


if __name__ == "__main__":
    exit_when_written(main(sys.argv[1:]))
