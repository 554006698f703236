"""The local servers jiti starts and keeps (the local AWS, the build cache server): each one a
detached process on 127.0.0.1 whose address and pid live in a JSON file of a state directory
(`.jiti/` at the build root), started and stopped under a lock so that concurrent runs share one.
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
from pathlib import Path
from typing import Callable, Iterator, Mapping


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def locked(state_dir: Path, name: str) -> Iterator[None]:
    """Held while a server's state is read, started or stopped (`<name>.lock`)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    with open(state_dir / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def read_state(path: Path) -> dict | None:
    """The server's state file, or None when it is missing or unreadable."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_state(path: Path, state: Mapping) -> None:
    """Written whole (a reader never sees half of it), readable by this user only: it may hold
    the server's token."""
    partial = path.with_name(f"{path.name}.tmp")
    partial.unlink(missing_ok=True)
    with os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
        f.write(json.dumps(dict(state)) + "\n")
    partial.replace(path)


def runs(pid: int, marker: bytes) -> bool:
    """Whether `pid` is still the server (its command line holds `marker`): a stale state file,
    e.g. after a reboot, may name someone else's process."""
    try:
        return marker in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return sys.platform != "linux"  # no /proc to check: trust the answering port


def start(
    argv: list[str],
    log_file: Path,
    ready: Callable[[], bool],
    *,
    timeout_s: float,
    what: str,
    error_type: type[Exception],
    env: Mapping[str, str] | None = None,
) -> int:
    """Start a server detached from this run (it outlives it, and the shell's Ctrl-C), its
    output appended to `log_file`; wait until `ready()`. Returns its pid; raises `error_type`
    naming `what` and the log when it does not start."""
    with open(log_file, "ab") as out:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=dict(env) if env is not None else None,
        )
    deadline = time.monotonic() + timeout_s
    while not ready():
        if process.poll() is not None or time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            raise error_type(f"{what} did not start; see {log_file}")
        time.sleep(0.1)
    return process.pid


def stop(pid: int) -> bool:
    """SIGTERM to the server; False if it was gone already."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    return True
