"""The local AWS as a server of its own: found again only when it is jiti's (its pid, its
command line, and an answer only the holder of the token in the state file can give), on a port
it binds itself, and without the real AWS credentials of the shell that started it."""

from __future__ import annotations

import json
import os
import stat
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest

import jiti_daemon
from jiti_deploy import local_aws
from jiti_deploy.testutil import quiet

CALLER_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "caller-access-key-id",
    "AWS_SECRET_ACCESS_KEY": "caller-secret-access-key",
    "AWS_SESSION_TOKEN": "caller-session-token",
    "AWS_PROFILE": "production",
    "AWS_SHARED_CREDENTIALS_FILE": "/home/someone/.aws/credentials",
}


class _AnswersEverything(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the name http.server calls
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"<ok/>")

    do_POST = do_GET

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def impostor():
    """Another program on 127.0.0.1 that answers 200 to anything."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AnswersEverything)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def start(state_dir, **env) -> local_aws.LocalAws:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        return local_aws.ensure_running(state_dir, log=quiet)


@pytest.fixture(scope="module")
def started(tmp_path_factory, impostor):
    """A local AWS started while its port choice races: the port `free_port` picks is taken
    by another program before the server binds it."""
    state_dir = tmp_path_factory.mktemp("raced")
    port = int(impostor.rsplit(":", 1)[1])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(jiti_daemon, "free_port", lambda: port, raising=False)
        server = start(state_dir)
    yield state_dir, server
    local_aws.stop(state_dir)


def caller_account(endpoint: str) -> str:
    sts = boto3.client(
        "sts", region_name="us-east-1", endpoint_url=endpoint, **local_aws.CREDENTIALS
    )
    return sts.get_caller_identity()["Account"]


def test_a_program_answering_on_the_recorded_port_is_not_taken_for_the_local_aws(
    tmp_path, impostor
):
    (tmp_path / local_aws.STATE_FILE).write_text(
        json.dumps({"endpoint": impostor, "pid": os.getpid(), "token": "guessed"})
    )
    assert local_aws.running(tmp_path) is None


def test_the_local_aws_binds_its_own_port_and_is_found_again(started, impostor):
    state_dir, server = started
    assert server.endpoint != impostor
    assert caller_account(server.endpoint) == "123456789012"
    assert local_aws.running(state_dir) == server
    state_file = state_dir / local_aws.STATE_FILE
    assert stat.S_IMODE(state_file.stat().st_mode) == 0o600  # it holds the token


def test_our_own_process_behind_another_program_s_port_is_not_used(started, impostor):
    """The recorded pid is our server, but the recorded port answers for someone else."""
    state_dir, server = started
    state_file = state_dir / local_aws.STATE_FILE
    state = json.loads(state_file.read_text())
    state_file.write_text(json.dumps({**state, "endpoint": impostor}))
    try:
        assert local_aws.running(state_dir) is None
    finally:
        state_file.write_text(json.dumps(state))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_local_aws_gets_no_real_credentials(tmp_path):
    server = start(tmp_path, **CALLER_CREDENTIALS)
    try:
        with open(f"/proc/{server.pid}/environ", "rb") as f:
            environment = f.read().decode()
        with open(f"/proc/{server.pid}/cmdline", "rb") as f:
            command_line = f.read().decode()
        for name, value in CALLER_CREDENTIALS.items():
            assert value not in environment, name
        token = json.loads((tmp_path / local_aws.STATE_FILE).read_text())["token"]
        assert token not in command_line  # others may read it; the environment only we can
        assert caller_account(server.endpoint) == "123456789012"
    finally:
        local_aws.stop(tmp_path)
