"""`./pants run infra-lib/jiti_cache:ctl -- start|stop|status [--port N] [--state-dir DIR]`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import jiti_cache


def default_state_dir() -> Path:
    # `pants run` runs in the build root; JITI_STATE_DIR points elsewhere.
    return Path(os.environ.get("JITI_STATE_DIR", ".jiti")).resolve()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="cache-server", description=jiti_cache.__doc__)
    parser.add_argument("command", choices=["start", "stop", "status"])
    parser.add_argument("--state-dir", type=Path, default=None)
    parser.add_argument(
        "--port",
        type=int,
        default=jiti_cache.DEFAULT_PORT,
        help="port to listen on, on 127.0.0.1 (0: any free port); pants.ci.toml uses 50051",
    )
    args = parser.parse_args(argv)
    state_dir = args.state_dir or default_state_dir()
    if args.command == "start":
        try:
            server = jiti_cache.ensure_running(state_dir, port=args.port)
        except jiti_cache.CacheServerError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        print(f"cache server running at {server.address} (pid {server.pid})")
    elif args.command == "stop":
        stopped = jiti_cache.stop(state_dir)
        print("cache server stopped" if stopped else "cache server was not running")
    else:
        server = jiti_cache.running(state_dir)
        print(
            f"cache server running at {server.address} (pid {server.pid})"
            if server
            else "cache server is not running"
        )
        return 0 if server else 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
