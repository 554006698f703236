"""The embedded local AWS: a moto server that jiti starts on 127.0.0.1 and reuses across runs.

Its endpoint and pid live in `<state dir>/local-aws.json` (by default `.jiti/` at the build
root), so users and their tools can reach it too:
`aws --endpoint-url $(jq -r .endpoint .jiti/local-aws.json) cloudformation list-stacks`.
"""

from __future__ import annotations

import os
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import jiti_daemon

STATE_FILE = "local-aws.json"
START_TIMEOUT_S = 30
# moto accepts any credentials; these keep boto3 from looking for real ones.
CREDENTIALS = {"aws_access_key_id": "jiti-local", "aws_secret_access_key": "jiti-local"}


class LocalAwsError(RuntimeError):
    """The local AWS could not be started or reached."""


@dataclass(frozen=True)
class LocalAws:
    endpoint: str
    pid: int


def _read(state_dir: Path) -> LocalAws | None:
    data = jiti_daemon.read_state(state_dir / STATE_FILE)
    try:
        return LocalAws(endpoint=data["endpoint"], pid=int(data["pid"])) if data else None
    except (ValueError, KeyError):
        return None


def _responds(endpoint: str) -> bool:
    try:
        # A cheap call that answers 200 whatever the server holds.
        with urllib.request.urlopen(
            f"{endpoint}/?Action=GetCallerIdentity&Version=2011-06-15", timeout=2
        ) as r:
            return r.status == 200
    except OSError:
        return False


def _locked(state_dir: Path):
    return jiti_daemon.locked(state_dir, "local-aws")


def running(state_dir: Path) -> LocalAws | None:
    state = _read(state_dir)
    return state if state and _responds(state.endpoint) else None


def ensure_running(state_dir: Path, log=print) -> LocalAws:
    """The running local AWS, started (detached, on a free port) if there is none."""
    with _locked(state_dir):
        state = running(state_dir)
        if state:
            return state
        port = jiti_daemon.free_port()
        endpoint = f"http://127.0.0.1:{port}"
        log(
            f"starting the local AWS (moto) at {endpoint}; stop it with: ./pants run infra-lib/jiti_deploy/local_aws:ctl -- stop"
        )
        pid = jiti_daemon.start(
            [sys.executable, "-m", "jiti_deploy.local_aws.server", str(port)],
            state_dir / "local-aws.log",
            lambda: _responds(endpoint),
            timeout_s=START_TIMEOUT_S,
            what="the local AWS",
            error_type=LocalAwsError,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
        )
        state = LocalAws(endpoint=endpoint, pid=pid)
        jiti_daemon.write_state(state_dir / STATE_FILE, {"endpoint": endpoint, "pid": pid})
        return state


def _is_server(pid: int) -> bool:
    return jiti_daemon.runs(pid, b"jiti_deploy.local_aws.server")


def stop(state_dir: Path) -> bool:
    """Stop the local AWS (its state is lost); False if none was running."""
    with _locked(state_dir):
        state = _read(state_dir)
        (state_dir / STATE_FILE).unlink(missing_ok=True)
        # A stale file (e.g. after a reboot) may name someone else's process: only stop ours.
        if not state or not _responds(state.endpoint) or not _is_server(state.pid):
            return False
        return jiti_daemon.stop(state.pid)
