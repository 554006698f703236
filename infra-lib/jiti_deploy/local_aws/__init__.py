"""The embedded local AWS: a moto server that jiti starts on 127.0.0.1 and reuses across runs.

Its endpoint, pid and token live in `<state dir>/local-aws.json` (by default `.jiti/` at the
build root; readable by its user only), so users and their tools can reach it too:
`aws --endpoint-url $(jq -r .endpoint .jiti/local-aws.json) cloudformation list-stacks`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import jiti_daemon

STATE_FILE = "local-aws.json"
PORT_FILE = "local-aws.port"  # where the server reports the port it bound
START_TIMEOUT_S = 30
# moto accepts any credentials; these keep boto3 from looking for real ones.
CREDENTIALS = {"aws_access_key_id": "jiti-local", "aws_secret_access_key": "jiti-local"}
# The server's token: in its environment (only its user can read it), and in the state file.
TOKEN_VARIABLE = "JITI_LOCAL_AWS_TOKEN"
IDENTITY_PATH = "/__jiti/identity"
_MARKER = b"jiti_deploy.local_aws.server"


class LocalAwsError(RuntimeError):
    """The local AWS could not be started or reached."""


@dataclass(frozen=True)
class LocalAws:
    endpoint: str
    pid: int
    token: str = field(default="", repr=False)


def identity(token: str, nonce: str) -> str:
    """The server's answer to `nonce`: only the holder of `token` can give it."""
    return hmac.new(token.encode(), nonce.encode(), hashlib.sha256).hexdigest()


def _read(state_dir: Path) -> LocalAws | None:
    data = jiti_daemon.read_state(state_dir / STATE_FILE)
    try:
        return LocalAws(data["endpoint"], int(data["pid"]), str(data["token"])) if data else None
    except (ValueError, KeyError):
        return None


# Straight to 127.0.0.1, whatever proxy the environment names.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _proves(endpoint: str, token: str) -> bool:
    """The server at `endpoint` holds `token`: it answers a fresh challenge with its HMAC (a
    program that merely answers, or replays an earlier answer, does not)."""
    nonce = secrets.token_hex(16)
    try:
        with _DIRECT.open(f"{endpoint}{IDENTITY_PATH}?nonce={nonce}", timeout=2) as r:
            answer = r.read(200).decode("ascii", "replace")
    except OSError:
        return False
    return hmac.compare_digest(answer, identity(token, nonce))


def _is_ours(state: LocalAws) -> bool:
    """The recorded pid runs our server, and the recorded port answers with its token."""
    return bool(state.token) and _is_server(state.pid) and _proves(state.endpoint, state.token)


def _locked(state_dir: Path):
    return jiti_daemon.locked(state_dir, "local-aws")


def running(state_dir: Path) -> LocalAws | None:
    state = _read(state_dir)
    return state if state and _is_ours(state) else None


def server_environment(token: str) -> dict[str, str]:
    """The server's environment: this one without any AWS credentials, profile or config (moto
    needs none, and must never hold real ones), with the local ones and the token."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    fake = {"AWS_ACCESS_KEY_ID": "jiti-local", "AWS_SECRET_ACCESS_KEY": "jiti-local"}
    return {
        **env,
        **fake,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
        TOKEN_VARIABLE: token,
    }


def _reported_port(port_file: Path) -> int | None:
    try:
        return int(port_file.read_text())
    except (OSError, ValueError):
        return None


def ensure_running(state_dir: Path, log=print) -> LocalAws:
    """The running local AWS, started (detached, on a port it binds itself) if there is none."""
    with _locked(state_dir):
        state = running(state_dir)
        if state:
            return state
        token, port_file = secrets.token_hex(32), state_dir / PORT_FILE
        port_file.unlink(missing_ok=True)

        def ready() -> bool:
            port = _reported_port(port_file)
            return port is not None and _proves(f"http://127.0.0.1:{port}", token)

        pid = jiti_daemon.start(
            [sys.executable, "-m", "jiti_deploy.local_aws.server", str(port_file)],
            state_dir / "local-aws.log",
            ready,
            timeout_s=START_TIMEOUT_S,
            what="the local AWS",
            error_type=LocalAwsError,
            env=server_environment(token),
        )
        state = LocalAws(f"http://127.0.0.1:{_reported_port(port_file)}", pid, token)
        jiti_daemon.write_state(
            state_dir / STATE_FILE, {"endpoint": state.endpoint, "pid": pid, "token": token}
        )
        log(
            f"started the local AWS (moto) at {state.endpoint}; stop it with: "
            "./pants run infra-lib/jiti_deploy/local_aws:ctl -- stop"
        )
        return state


def _is_server(pid: int) -> bool:
    return jiti_daemon.runs(pid, _MARKER)


def stop(state_dir: Path) -> bool:
    """Stop the local AWS (its state is lost); False if none was running."""
    with _locked(state_dir):
        state = _read(state_dir)
        (state_dir / STATE_FILE).unlink(missing_ok=True)
        # A stale file (e.g. after a reboot) may name someone else's process: only stop ours.
        if not state or not _is_ours(state):
            return False
        return jiti_daemon.stop(state.pid)
