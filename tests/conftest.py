"""End-to-end fixtures: a temporary copy of this repository, driven with real `./pants` runs,
deploying to its own local AWS (a moto server the deploy starts inside the copy)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import boto3
import pytest


class Repo:
    """A git repository copied from the build root, with helpers to run Pants in it."""

    def __init__(self, root: Path, store_dir: Path):
        self.root = root
        self.store_dir = store_dir

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
        return {**hermetic, "NO_COLOR": "1", **(extra or {})}

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
        """A client for this repo's local AWS; pass assumed-role credentials to act in another account."""
        return boto3.client(
            service,
            endpoint_url=self.local_aws_endpoint(),
            region_name=region,
            aws_access_key_id=credentials.get("AccessKeyId", "jiti-local"),
            aws_secret_access_key=credentials.get("SecretAccessKey", "jiti-local"),
            aws_session_token=credentials.get("SessionToken"),
        )

    def stop(self) -> None:
        """Stop what the runs left behind: pantsd and the local AWS."""
        subprocess.run(["pkill", "-f", f"pantsd \\[{self.root}\\]"], capture_output=True)
        state = self.root / ".jiti/local-aws.json"
        if state.exists():
            try:
                os.kill(json.loads(state.read_text())["pid"], signal.SIGTERM)
            except ProcessLookupError:
                pass


def copy_build_root(dest: Path) -> None:
    """The build root's tracked and new files (its working tree, not just HEAD), as a fresh repo."""
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
        copy_build_root(root)
        repo = Repo(root, base / store)
        repos.append(repo)
        return repo

    yield make
    for repo in repos:
        repo.stop()
