"""The embedded local AWS: a moto server that jiti starts on 127.0.0.1 and reuses across runs.

Its endpoint and pid live in `<state dir>/local-aws.json` (by default `.jiti/` at the build
root), so users and their tools can reach it too:
`aws --endpoint-url $(jq -r .endpoint .jiti/local-aws.json) cloudformation list-stacks`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

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
    try:
        data = json.loads((state_dir / STATE_FILE).read_text())
        return LocalAws(endpoint=data["endpoint"], pid=int(data["pid"]))
    except (OSError, ValueError, KeyError):
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _locked(state_dir: Path):
    state_dir.mkdir(parents=True, exist_ok=True)
    with open(state_dir / "local-aws.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def running(state_dir: Path) -> LocalAws | None:
    state = _read(state_dir)
    return state if state and _responds(state.endpoint) else None


def ensure_running(state_dir: Path, log=print) -> LocalAws:
    """The running local AWS, started (detached, on a free port) if there is none."""
    with _locked(state_dir):
        state = running(state_dir)
        if state:
            return state
        port = _free_port()
        endpoint = f"http://127.0.0.1:{port}"
        log(
            f"starting the local AWS (moto) at {endpoint}; stop it with: ./pants run infra-lib/jiti_deploy/local_aws:ctl -- stop"
        )
        with open(state_dir / "local-aws.log", "ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "jiti_deploy.local_aws.server", str(port)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # outlives this run, and the shell's Ctrl-C
                env={
                    **os.environ,
                    "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
                },
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _responds(endpoint):
            if process.poll() is not None or time.monotonic() > deadline:
                raise LocalAwsError(
                    f"the local AWS did not start; see {state_dir / 'local-aws.log'}"
                )
            time.sleep(0.1)
        state = LocalAws(endpoint=endpoint, pid=process.pid)
        (state_dir / STATE_FILE).write_text(
            json.dumps({"endpoint": endpoint, "pid": process.pid}) + "\n"
        )
        return state


def _is_server(pid: int) -> bool:
    try:
        return b"jiti_deploy.local_aws.server" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return sys.platform != "linux"  # no /proc to check: trust the answering endpoint


def stop(state_dir: Path) -> bool:
    """Stop the local AWS (its state is lost); False if none was running."""
    with _locked(state_dir):
        state = _read(state_dir)
        (state_dir / STATE_FILE).unlink(missing_ok=True)
        # A stale file (e.g. after a reboot) may name someone else's process: only stop ours.
        if not state or not _responds(state.endpoint) or not _is_server(state.pid):
            return False
        try:
            os.kill(state.pid, signal.SIGTERM)
        except ProcessLookupError:
            return False
        return True
