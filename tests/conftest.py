"""End-to-end fixtures: a temporary copy of this repository, driven with real `./pants` runs,
deploying to its own local AWS (a moto server the deploy starts inside the copy), or to a real
sandbox account with `JITI_E2E_TARGET=aws` (see `e2e_target.py`)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from tests.e2e_target import Run, target


class Repo:
    """A git repository copied from the build root, with helpers to run Pants in it."""

    def __init__(self, root: Path, store_dir: Path, run: Run):
        self.root = root
        self.store_dir = store_dir
        self.run = run

    def stack(self, app: str) -> str:
        """The stack name of an app's `deploy` deployment (`<app>-dev` on the local AWS)."""
        return self.run.stack(app)

    def pants(
        self, *args: str, check: bool = True, env: dict | None = None
    ) -> subprocess.CompletedProcess:
        """Run ./pants as a user on a laptop would: no CI, no AWS settings, unless `env` says so."""
        result = subprocess.run(
            self.pants_command(*args),
            cwd=self.root,
            env=self.env(env),
            capture_output=True,
            text=True,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
            )
        return result

    def pants_command(self, *args: str) -> list[str]:
        return ["./pants", f"--local-store-dir={self.store_dir}", "--no-dynamic-ui", *args]

    def env(self, extra: dict | None = None) -> dict:
        hermetic = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AWS_", "PANTS_CONFIG_FILES", "PANTS_JITI_")) and k != "CI"
        }
        return {**hermetic, "NO_COLOR": "1", **self.run.pants_env(), **(extra or {})}

    def local_aws_endpoint(self) -> str:
        return json.loads((self.root / ".jiti/local-aws.json").read_text())["endpoint"]

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=self.root, check=True, capture_output=True, text=True
        ).stdout

    def write(self, path: str, text: str) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)

    def edit(self, path: str, old: str, new: str) -> None:
        text = (self.root / path).read_text()
        assert old in text, f"{old!r} not in {path}"
        self.write(path, text.replace(old, new))

    def commit(self, message: str) -> None:
        self.git("add", "-A")
        self.git("commit", "-qm", message)

    def manifest(self, app: str) -> dict:
        return json.loads((self.root / f"dist/apps.{app}/stack.manifest.json").read_text())

    def aws(self, service: str, region: str = "us-east-1", **credentials: str):
        """A client where this repo deploys; on the local AWS, pass assumed-role credentials to
        act in another account."""
        endpoint = None if self.run.sandbox else self.local_aws_endpoint()
        return self.run.client(service, region, endpoint, credentials)

    def stop(self) -> None:
        """Stop what the runs left behind: pantsd and the local AWS, or in a sandbox account
        everything the run created."""
        problems = self.run.clean_up()
        if problems:
            print(f"clean-up of {self.run.environment} left:", *problems, sep="\n  ")
        subprocess.run(["pkill", "-f", f"pantsd \\[{self.root}\\]"], capture_output=True)
        state = self.root / ".jiti/local-aws.json"
        if state.exists():
            try:
                os.kill(json.loads(state.read_text())["pid"], signal.SIGTERM)
            except ProcessLookupError:
                pass


def copy_build_root(dest: Path, run: Run) -> None:
    """The build root's tracked and new files (its working tree, not just HEAD), as a fresh repo
    of this run."""
    source = Path(os.environ["JITI_BUILDROOT"])
    files = (
        subprocess.run(
            ["git", "ls-files", "-co", "--exclude-standard", "-z"],
            cwd=source,
            check=True,
            capture_output=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, files):
        if (source / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / name, dest / name)
    run.prepare(dest)
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        [
            "-c",
            "user.name=jiti",
            "-c",
            "user.email=jiti@example.invalid",
            "commit",
            "-qm",
            "initial",
        ],
    ):
        subprocess.run(["git", *args], cwd=dest, check=True, capture_output=True)
    subprocess.run(["git", "config", "user.name", "jiti"], cwd=dest, check=True)
    subprocess.run(["git", "config", "user.email", "jiti@example.invalid"], cwd=dest, check=True)


@pytest.fixture(scope="module")
def make_repo(tmp_path_factory):
    """Make repositories for a test module, each stopped (pantsd, local AWS) at its end."""
    repos = []

    def make(name: str = "repo", store: str = "store") -> Repo:
        base = tmp_path_factory.getbasetemp()
        root = base / name
        root.mkdir()
        run = Run.new()
        copy_build_root(root, run)
        repo = Repo(root, base / store, run)
        repos.append(repo)
        return repo

    yield make
    for repo in repos:
        repo.stop()


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "local_only(why): needs what only the local AWS gives (injected faults, any account "
        "through STS, its own state); skipped against a sandbox account",
    )


def pytest_collection_modifyitems(config, items):
    if target() == "local":
        return
    for item in items:
        marker = item.get_closest_marker("local_only")
        if marker:
            why = marker.args[0] if marker.args else "needs the local AWS"
            item.add_marker(pytest.mark.skip(reason=f"local AWS only: {why}"))
