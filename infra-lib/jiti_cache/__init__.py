"""A local REAPI cache server (BuildGrid) for Pants' remote cache, for development and tests.

Teams run one shared server (docs/scale.md); this one lets anyone try the CI configuration
(`pants.ci.toml`) on one machine, and lets the tests check that two clones share one cache.
It is a single-user development server: on 127.0.0.1, a fixed port, no TLS and no
authorisation, so anyone on the machine can read and write what Pants then trusts.
BuildGrid needs CPython 3.13, which Pants 2.17's pex tool cannot run, so it is installed the
way `./pants` installs Pants: with pip, from hash-pinned requirements, into a cached virtualenv.
Its address and pid live in `<state dir>/cache-server.json` (`.jiti/` at the build root), its
blobs in `<state dir>/cache-server/`.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import shutil
import socket
import string
import subprocess
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import jiti_daemon

DEFAULT_PORT = 50051
STATE_FILE = "cache-server.json"
START_TIMEOUT_S = 60
PYTHON = "3.13"


class CacheServerError(RuntimeError):
    """The cache server could not be installed, started or reached."""


@dataclass(frozen=True)
class CacheServer:
    address: str  # as Pants' --remote-store-address takes it
    pid: int

    @property
    def port(self) -> int:
        return int(self.address.rsplit(":", 1)[1])


def _package_file(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text()


def cache_root() -> Path:
    """Where ./pants keeps Pants itself; the server's virtualenv goes beside it."""
    if os.environ.get("JITI_CACHE_DIR"):
        return Path(os.environ["JITI_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "jiti"


def find_python() -> str:
    """CPython 3.13: `python3.13` on PATH (if it runs: pyenv's shims may not), else pyenv's."""
    candidates = [shutil.which(f"python{PYTHON}")]
    pyenv = shutil.which("pyenv")
    if pyenv:
        root = subprocess.run([pyenv, "root"], capture_output=True, text=True).stdout.strip()
        candidates += sorted(glob.glob(f"{root}/versions/{PYTHON}.*/bin/python{PYTHON}"))
    check = f"import sys; assert sys.version_info[:2] == ({PYTHON.replace('.', ', ')})"
    for candidate in filter(None, candidates):
        if subprocess.run([candidate, "-c", check], capture_output=True).returncode == 0:
            return candidate
    raise CacheServerError(
        f"the cache server (BuildGrid) needs CPython {PYTHON}: install it (e.g. "
        f"'pyenv install {PYTHON}') or put python{PYTHON} on PATH"
    )


def ensure_installed(log=print) -> Path:
    """The `bgd` executable of a virtualenv holding exactly the pinned requirements."""
    requirements = _package_file("requirements.txt")
    venv = cache_root() / f"buildgrid-{hashlib.sha256(requirements.encode()).hexdigest()[:12]}"
    bgd = venv / "bin/bgd"
    if (venv / ".installed").exists():  # written last: an interrupted install is redone
        return bgd
    python = find_python()
    log(f"installing the cache server (BuildGrid) with {python} into {venv} (about a minute, once)")
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    pinned = venv.parent / f"{venv.name}.requirements.txt"
    pinned.write_text(requirements)
    env = {**os.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    for command in (
        [python, "-m", "venv", str(venv)],
        [str(venv / "bin/pip"), "install", "--quiet", "--require-hashes", "-r", str(pinned)],
    ):
        result = subprocess.run(command, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise CacheServerError(
                f"installing the cache server failed: {' '.join(command)}\n{result.stderr[-3000:]}"
            )
    (venv / ".installed").touch()
    return bgd


def _read(state_dir: Path) -> CacheServer | None:
    data = jiti_daemon.read_state(state_dir / STATE_FILE)
    try:
        return CacheServer(address=data["address"], pid=int(data["pid"])) if data else None
    except (ValueError, KeyError):
        return None


def _accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


def _is_server(pid: int) -> bool:
    return jiti_daemon.runs(pid, b"bgd")


def _locked(state_dir: Path):
    return jiti_daemon.locked(state_dir, "cache-server")


def running(state_dir: Path) -> CacheServer | None:
    state = _read(state_dir)
    return state if state and _is_server(state.pid) and _accepts(state.port) else None


def ensure_running(state_dir: Path, port: int = DEFAULT_PORT, log=print) -> CacheServer:
    """The running cache server of `state_dir`, started (detached) if there is none.
    `port=0` picks a free port."""
    with _locked(state_dir):
        state = running(state_dir)
        if state:
            return state
        bgd = ensure_installed(log)
        port = port or jiti_daemon.free_port()
        if _accepts(port):
            raise CacheServerError(
                f"port {port} is taken by another program; start the cache server with --port"
            )
        home = state_dir / "cache-server"
        (home / "cas").mkdir(parents=True, exist_ok=True)
        config = home / "buildgrid.yml"
        config.write_text(
            string.Template(_package_file("buildgrid.yml")).substitute(
                address=f"127.0.0.1:{port}", storage=str((home / "cas").resolve())
            )
        )
        pid = jiti_daemon.start(
            [str(bgd), "server", "start", str(config)],
            state_dir / "cache-server.log",
            lambda: _accepts(port),
            timeout_s=START_TIMEOUT_S,
            what="the cache server",
            error_type=CacheServerError,
        )
        state = CacheServer(address=f"grpc://127.0.0.1:{port}", pid=pid)
        jiti_daemon.write_state(state_dir / STATE_FILE, {"address": state.address, "pid": pid})
        return state


def stop(state_dir: Path) -> bool:
    """Stop the cache server (its blobs stay on disk); False if none was running."""
    with _locked(state_dir):
        state = _read(state_dir)
        (state_dir / STATE_FILE).unlink(missing_ok=True)
        # A stale file (e.g. after a reboot) may name someone else's process: only stop ours.
        if not state or not _is_server(state.pid):
            return False
        return jiti_daemon.stop(state.pid)
