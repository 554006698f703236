"""`./pants run infra-lib/jiti_deploy/local_aws:ctl -- start|stop|status [--state-dir DIR]`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from jiti_deploy import local_aws


def default_state_dir() -> Path:
    # `pants run` runs in the build root; JITI_STATE_DIR points elsewhere.
    return Path(os.environ.get("JITI_STATE_DIR", ".jiti")).resolve()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="local-aws", description=__doc__)
    parser.add_argument("command", choices=["start", "stop", "status"])
    parser.add_argument("--state-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    state_dir = args.state_dir or default_state_dir()
    if args.command == "start":
        state = local_aws.ensure_running(state_dir)
        print(f"local AWS running at {state.endpoint} (pid {state.pid})")
    elif args.command == "stop":
        print("local AWS stopped" if local_aws.stop(state_dir) else "local AWS was not running")
    else:
        state = local_aws.running(state_dir)
        print(
            f"local AWS running at {state.endpoint} (pid {state.pid})"
            if state
            else "local AWS is not running"
        )
        return 0 if state else 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
