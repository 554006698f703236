"""The cache server's lifecycle edges: stale state, a taken port, no CPython 3.13.
(Starting and using a real server is tests/remote_cache_test.py.)"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

import jiti_cache


def test_stop_leaves_a_process_named_by_a_stale_state_file_alone(tmp_path: Path) -> None:
    (tmp_path / jiti_cache.STATE_FILE).write_text(
        json.dumps({"address": "grpc://127.0.0.1:50051", "pid": os.getpid()})
    )
    assert jiti_cache.stop(tmp_path) is False
    assert not (tmp_path / jiti_cache.STATE_FILE).exists()
    assert jiti_cache.running(tmp_path) is None


def test_a_port_taken_by_another_program_is_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(jiti_cache, "ensure_installed", lambda log: Path("/nonexistent/bgd"))
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with pytest.raises(jiti_cache.CacheServerError, match=f"port {port} is taken"):
            jiti_cache.ensure_running(tmp_path, port=port)


def test_without_cpython_313_the_error_says_how_to_get_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # neither python3.13 nor pyenv
    with pytest.raises(jiti_cache.CacheServerError, match="needs CPython 3.13: install it"):
        jiti_cache.find_python()


def test_the_server_config_names_the_address_and_storage() -> None:
    config = jiti_cache._package_file("buildgrid.yml")
    assert "$address" in config and "$storage" in config
    assert "!action-cache" in config and "!cas" in config and "!bytestream" in config
