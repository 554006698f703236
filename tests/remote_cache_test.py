"""The CI remote cache end to end: two fresh clones with empty local stores share one BuildGrid
cache; the second builds nothing that the first built, and writes the same artifacts."""

from __future__ import annotations

import re

import jiti_cache
import pytest

CI_CONFIG = {"PANTS_CONFIG_FILES": "pants.ci.toml"}


def counters(stderr: str) -> dict[str, int]:
    """The counters `[stats].log` prints at the end of a run (pants.ci.toml turns it on)."""
    found = dict(
        re.findall(r"^\s+(remote_cache_\w+|local_execution_requests): (\d+)$", stderr, re.M)
    )
    assert found, f"no cache counters in the output:\n{stderr[-3000:]}"
    return {name: int(value) for name, value in found.items()}


def dist_files(repo) -> dict[str, bytes]:
    dist = repo.root / "dist"
    return {
        str(p.relative_to(dist)): p.read_bytes() for p in sorted(dist.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def cache_server(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("cache-server")
    server = jiti_cache.ensure_running(state_dir, port=0)
    yield server
    jiti_cache.stop(state_dir)


def test_a_fresh_clone_builds_from_the_shared_cache(cache_server, make_repo):
    address = f"--remote-store-address={cache_server.address}"
    writer = make_repo("cache-writer", store="store-cache-writer")
    reader = make_repo("cache-reader", store="store-cache-reader")  # an empty local store too

    # pants.ci.toml only reads the cache; a trusted job turns writes on.
    writing = {**CI_CONFIG, "PANTS_REMOTE_CACHE_WRITE": "true"}
    wrote = counters(writer.pants(address, "package", "apps::", env=writing).stderr)
    # Every result was uploaded before the run ended (none dropped at exit).
    assert wrote["remote_cache_write_attempts"] > 0
    assert wrote["remote_cache_write_successes"] == wrote["remote_cache_write_attempts"]
    assert wrote["remote_cache_requests_cached"] == 0

    read = counters(reader.pants(address, "package", "apps::", env=CI_CONFIG).stderr)
    assert read["remote_cache_requests"] == wrote["remote_cache_write_successes"]
    assert read["remote_cache_requests_cached"] == read["remote_cache_requests"]
    assert read["remote_cache_write_attempts"] == 0  # nothing new to share

    built, fetched = dist_files(writer), dist_files(reader)
    assert any(name.endswith(".zip") for name in built)
    assert any(name.endswith(".manifest.json") for name in built)
    assert fetched == built
