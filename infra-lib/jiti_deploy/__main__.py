"""The deploy runtime, run by `pants run`, `pants experimental-deploy` and `pants deploy-stacks`.

Usage: jiti-deploy --plan PLAN [--plan PLAN ...] --artifacts DIR [--state-dir DIR]
                   [--build-root DIR] [--outputs-dir DIR] [--max-parallel N] [--report FILE]
                   [--target local|aws|auto] [--assets-bucket NAME] [--env-vars NAME,...]
                   [--dry-run] [--force]

One plan deploys one stack; several are deployed together: one batched read of what is live
per region, then only what differs, in dependency order, with a summary table.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from jiti_contract import ASSETS_BUCKET_DEFAULT, EXIT_USER_ERROR, TARGETS
from jiti_deploy import batch, checks, deployment, interrupt, live, output, report, runner
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
    environment, the other goals only these, and all of them must deploy the same way."""
    for name in list(os.environ):
        if name not in names:
            del os.environ[name]


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="jiti-deploy", description="Deploy packaged CloudFormation stacks."
    )
    parser.add_argument("--plan", type=Path, action="append", required=True)
    parser.add_argument("--artifacts", type=Path, required=True)
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
    return parser.parse_args(argv)


def run(args: argparse.Namespace, outcomes: list) -> None:
    """Deploy what the plans say, adding each deployment's outcome to `outcomes`."""
    source = source_of(args.build_root)
    deployments = [deployment.load(p, args.artifacts, args.outputs_dir, source) for p in args.plan]
    problems = checks.problems(deployments)
    if problems:
        raise UserError("\n".join(problems))
    destinations = Destinations(
        args.target, args.state_dir.resolve(), log=log, assets_bucket=args.assets_bucket
    )
    if len(deployments) == 1 and not args.report:  # `pants run`: no table for one stack
        d = deployments[0]
        destination = destinations.get(d.plan.account, d.plan.region, d.role_to_assume)
        stacks = live.LiveStacks(destinations)
        runner.deploy(
            destination, d, dry_run=args.dry_run, force=args.force, log=log, stacks=stacks
        )
        return
    outcomes += batch.run(
        destinations,
        deployments,
        dry_run=args.dry_run,
        force=args.force,
        max_parallel=args.max_parallel,
        log=log,
    )


class UserError(DeployError):
    """A mistake in the plans, found before any call: exit code EXIT_USER_ERROR."""


def main(argv: list[str]) -> int:
    started = time.monotonic()
    args = parse(argv)
    if args.env_vars is not None:
        keep_only(args.env_vars.split(","))
    interrupt.install(log)
    outcomes: list = []
    error_message, code = None, 0
    try:
        run(args, outcomes)
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
    if outcomes:
        log("")
        log(report.summary(outcomes))
        log(f"{len(outcomes)} deployments in {elapsed_s:.1f}s")
    if args.report:
        report.write(
            args.report,
            outcomes,
            elapsed_s,
            interrupted=interrupt.requested(),
            error=error_message,
        )
        log(f"report: {args.report}")
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
