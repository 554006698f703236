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

from jiti_infra.deploy import batch, plan, runner, target
from jiti_infra.deploy.errors import DeployError
from jiti_infra.local_aws import LocalAwsError


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
        deployments = [plan.load(p, args.artifacts, args.outputs_dir) for p in args.plan]
        targets = target.Targets(args.state_dir.resolve(), log=log)
        if len(deployments) == 1 and not args.report:  # `pants run`: no table for one stack
            d = deployments[0]
            aws = targets.get(d.account, d.region, d.role_to_assume)
            runner.deploy(aws, d, dry_run=args.dry_run, log=log)
            return 0
        outcomes = batch.run(
            targets, deployments, dry_run=args.dry_run, max_parallel=args.max_parallel, log=log
        )
    except (DeployError, LocalAwsError) as e:
        return error(str(e))
    except (ClientError, BotoCoreError) as e:  # AWS said no: its message, never a traceback
        return error(f"AWS: {e}")
    elapsed_s = round(time.monotonic() - started, 2)
    log("")
    log(batch.summary(outcomes))
    log(f"{len(outcomes)} deployments in {elapsed_s:.1f}s")
    if args.report:
        batch.write_report(args.report, outcomes, elapsed_s)
        log(f"report: {args.report}")
    failed = [o for o in outcomes if o.result in (batch.FAILED, batch.SKIPPED)]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
