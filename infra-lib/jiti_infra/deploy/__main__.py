"""The deploy runtime, run by `pants run <deployment>` and `pants experimental-deploy`.

Usage: jiti-deploy --plan PLAN --artifacts DIR [--state-dir DIR] [--outputs-dir DIR] [--dry-run]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from jiti_infra.deploy import plan, runner, target
from jiti_infra.deploy.errors import DeployError
from jiti_infra.local_aws import LocalAwsError


def log(message: str) -> None:
    print(message, flush=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="jiti-deploy", description="Deploy a packaged CloudFormation stack."
    )
    parser.add_argument("--plan", type=Path, required=True)
    parser.add_argument("--artifacts", type=Path, required=True)
    parser.add_argument("--state-dir", type=Path, default=Path(".jiti"))
    parser.add_argument("--outputs-dir", type=Path, default=None)
    parser.add_argument(
        "--dry-run", action="store_true", help="show the change set, change nothing"
    )
    args = parser.parse_args(argv)
    try:
        deployment = plan.load(args.plan, args.artifacts, args.outputs_dir)
        aws = target.resolve(deployment.region, args.state_dir.resolve(), log=log)
        log(f"target: {aws.describe()}")
        runner.deploy(aws, deployment, dry_run=args.dry_run, log=log)
    except (DeployError, LocalAwsError) as e:
        print(f"error: {e}", file=sys.stderr, flush=True)
        return 1
    except (
        ClientError,
        BotoCoreError,
    ) as e:  # AWS said no: its message, never a traceback
        print(f"error: {deployment.stack_name}: AWS: {e}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
