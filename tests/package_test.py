"""`pants package` end to end: reproducible artifacts whose versions follow their inputs."""

from __future__ import annotations

import pytest

APPS = ("greeter", "orders", "reports", "site")


def artifacts(repo) -> dict[str, bytes]:
    dist = repo.root / "dist"
    return {
        str(p.relative_to(dist)): p.read_bytes()
        for p in sorted(dist.glob("apps.*/stack.*"))
        if p.is_file()
    } | {
        str(p.relative_to(dist)): p.read_bytes() for p in sorted(dist.glob("apps.*/stack.assets/*"))
    }


def versions(repo) -> dict[str, str]:
    repo.pants("package", "::")
    return {app: repo.manifest(app)["version"] for app in APPS}


@pytest.fixture(scope="module")
def repo(make_repo):
    return make_repo("a", store="store-a")


def test_two_clean_builds_are_byte_identical(repo, make_repo):
    repo.pants("package", "::")
    other = make_repo("b", store="store-b")  # its own cache: nothing is reused from the first
    other.pants("package", "::")
    first, second = artifacts(repo), artifacts(other)
    assert {name.split("/")[0] for name in first} == {f"apps.{app}" for app in APPS}
    assert len(first) >= 9  # a template, a manifest and at least one asset per app
    assert first == second


def test_versions_follow_exactly_the_inputs_that_changed(repo):
    before = versions(repo)

    repo.edit("apps/orders/worker.py", '"status": "stored"', '"status": "saved"')
    after_orders = versions(repo)
    assert [app for app in APPS if after_orders[app] != before[app]] == ["orders"]

    repo.edit("apps/shared/http.py", "sort_keys=True", "sort_keys=True, indent=None")
    after_shared = versions(repo)
    assert [app for app in APPS if after_shared[app] != after_orders[app]] == ["greeter", "orders"]

    repo.edit("README.md", "# jiti", "# jiti (edited)")
    assert versions(repo) == after_shared


def test_changed_since_selects_the_deployments_a_change_reaches(repo):
    repo.commit("changes from the previous test")
    repo.edit("apps/shared/http.py", "def json_response", "# shared helpers\ndef json_response")
    repo.commit("change the shared library")
    listed = repo.pants(
        "--changed-since=HEAD~1", "--changed-dependents=transitive", "list"
    ).stdout.split()
    assert "apps/greeter:deploy" in listed and "apps/orders:deploy" in listed
    assert "apps/site:deploy" not in listed and "apps/site:stack" not in listed


def test_a_broken_infra_module_is_one_clear_error(repo):
    repo.write(
        "apps/broken/BUILD",
        'python_sources()\ncloudformation_stack(name="stack", source="infra.py")\n',
    )
    repo.write("apps/broken/infra.py", "def template(app)\n    return app.template\n")
    result = repo.pants("package", "apps/broken:stack", check=False)
    assert result.returncode != 0
    assert (
        "apps/broken:stack: field `source`: syntax error in apps/broken/infra.py, line 1"
        in result.stderr
    )
    assert "Traceback" not in result.stderr
