"""The deploy runtime, run by `pants run`, `pants experimental-deploy` and `pants deploy-stacks`.

Usage: jiti-deploy --plan PLAN [--plan PLAN ...] --artifacts DIR [--state-dir DIR]
                   [--outputs-dir DIR] [--max-parallel N] [--report FILE] [--dry-run]

One plan deploys one stack; several are deployed together: one batched read of what is live
per region, then only what differs, in dependency order, with a summary table.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from jiti_deploy import batch, deployment, report, runner
from jiti_deploy.destinations import Destinations
from jiti_deploy.errors import DeployError
from jiti_deploy.local_aws import LocalAwsError


def log(message: str) -> None:
    print(message, flush=True)


def error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr, flush=True)
    return 1


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="jiti-deploy", description="Deploy packaged CloudFormation stacks."
    )
    parser.add_argument("--plan", type=Path, action="append", required=True)
    parser.add_argument("--artifacts", type=Path, required=True)
    parser.add_argument("--state-dir", type=Path, default=Path(".jiti"))
    parser.add_argument("--outputs-dir", type=Path, default=None)
    parser.add_argument("--max-parallel", type=int, default=4)
    parser.add_argument("--report", type=Path, default=None, help="write the summary as JSON here")
    parser.add_argument(
        "--dry-run", action="store_true", help="show the change sets, change nothing"
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    started = time.monotonic()
    args = parse(argv)
    try:
        deployments = [deployment.load(p, args.artifacts, args.outputs_dir) for p in args.plan]
        destinations = Destinations(args.state_dir.resolve(), log=log)
        if len(deployments) == 1 and not args.report:  # `pants run`: no table for one stack
            d = deployments[0]
            destination = destinations.get(d.plan.account, d.plan.region, d.role_to_assume)
            runner.deploy(destination, d, dry_run=args.dry_run, log=log)
            return 0
        outcomes = batch.run(
            destinations,
            deployments,
            dry_run=args.dry_run,
            max_parallel=args.max_parallel,
            log=log,
        )
    except (DeployError, LocalAwsError) as e:
        return error(str(e))
    except (ClientError, BotoCoreError) as e:  # AWS said no: its message, never a traceback
        return error(f"AWS: {e}")
    elapsed_s = round(time.monotonic() - started, 2)
    log("")
    log(report.summary(outcomes))
    log(f"{len(outcomes)} deployments in {elapsed_s:.1f}s")
    if args.report:
        report.write(args.report, outcomes, elapsed_s)
        log(f"report: {args.report}")
    return 0 if all(o.result.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
