"""The deploy runtime, run by `pants run`, `pants experimental-deploy`, `pants deploy-stacks`,
`pants prune-stacks` and `pants drift-stacks`.

Usage: jiti-deploy [--mode deploy] --plan PLAN [--plan PLAN ...] --artifacts DIR
                   [--fail-on-replace TYPE,...] [--plan-markdown FILE] [--dry-run] [--force]
       jiti-deploy --mode prune --inventory FILE [--confirm] [--prune-assets]
                   [--assets-grace-days N]
       jiti-deploy --mode drift --inventory FILE
       jiti-deploy --mode invoke --invoke FILE [--event FILE|-]
       each with [--state-dir DIR] [--build-root DIR] [--outputs-dir DIR] [--max-parallel N]
                 [--report FILE] [--target local|aws|auto] [--assets-bucket NAME]
                 [--env-vars NAME,...]

One plan deploys one stack; several are deployed together: one batched read of what is live
per region, then only what differs, in dependency order, with a summary table. `prune` deletes
(with `--confirm`; lists otherwise) the stacks this repository deployed and no longer deploys;
`drift` runs CloudFormation's drift detection on the inventory's stacks; `invoke` runs a Lambda
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
    drift,
    interrupt,
    invoke,
    live,
    masking,
    output,
    plan_markdown,
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
    parser.add_argument("--confirm", action="store_true", help="prune: delete, not only list")
    parser.add_argument(
        "--prune-assets",
        action="store_true",
        help="prune: unused objects of the assets buckets too",
    )
    parser.add_argument("--assets-grace-days", type=float, default=7.0)
    parser.add_argument("--invoke", type=Path, default=None, help="invoke: the request")
    parser.add_argument("--event", default=None, help="invoke: the event's JSON file, - for stdin")
    args = parser.parse_args(argv)
    if args.mode == "deploy" and not (args.plan and args.artifacts):
        parser.error("deploying needs --plan and --artifacts")
    if args.mode in ("prune", "drift") and not args.inventory:
        parser.error(f"--mode {args.mode} needs --inventory")
    if args.mode == "invoke" and not (args.invoke and args.artifacts):
        parser.error("--mode invoke needs --invoke and --artifacts")
    return args


MODES = ("deploy", "prune", "drift", "invoke")


def run(args: argparse.Namespace, outcomes: list, extra: dict) -> None:
    """Do what the mode says, adding each deployment's (or stack's) outcome to `outcomes` and
    what else the report holds to `extra`."""
    destinations = Destinations(
        args.target, args.state_dir.resolve(), log=log, assets_bucket=args.assets_bucket
    )
    if args.mode == "deploy":
        deploy(args, destinations, outcomes)
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
        raise UserError("prune: no repository id: set `repository` under `[jiti]` in pants.toml")
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
        )
    except prune.Refused as e:
        raise UserError(str(e)) from None


def deploy(args: argparse.Namespace, destinations: Destinations, outcomes: list) -> None:
    """Deploy what the plans say."""
    source = source_of(args.build_root)
    deployments = [deployment.load(p, args.artifacts, args.outputs_dir, source) for p in args.plan]
    masking.add(v for d in deployments for v in d.secret_values)
    problems = checks.problems(deployments)
    if problems:
        raise UserError("\n".join(problems))
    fail_on_replace = tuple(t for t in args.fail_on_replace.split(",") if t)
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
    )


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
    except Exception as e:  # noqa: BLE001 - e.g. boto3's S3UploadFailedError: one line, a report
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


def exit_when_written(code: int) -> None:
    """Exit once the output is written; at once if nobody reads it (the report is on disk)."""
    if output.flushed(timeout_s=10):
        sys.exit(code)
    os._exit(code)


if __name__ == "__main__":
    exit_when_written(main(sys.argv[1:]))
