"""A synthetic monorepo of N apps, built from this repository's real plugin and infra-lib.

Each app has a handler, its test, its Lambda package, a small stack (function, log group, role) and a
deployment; the handlers share a few libraries. The result is a git repository with one
commit, so `--changed-since` works in it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bench.stats import child_env, run

# What a generated repository takes from the real one: Pants set-up, plugin, infra-lib.
COPIED = (
    "pants",
    "pants.toml",
    "pants.ci.toml",
    "pyproject.toml",
    ".gitignore",
    "3rdparty",
    "pants-plugins",
    "infra-lib",
)
SHARED_LIBS = 3
FLEET_TEMPLATE = {"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}}  # a plain stack

HANDLER = '''"""{app}: answers with its name and a shared greeting."""

from libs.{lib}.greeting import greet

REVISION = 0


def handle(event: dict, context: object) -> dict:
    return {{"statusCode": 200, "body": greet("{app}", REVISION)}}
'''

INFRA = '''"""{app}'s infrastructure: one function."""

from jiti_infra import App, lambda_function

MEMORY = 128


def template(app: App):
    lambda_function(app, "Handler", asset=app.asset(":lambda"), memory=MEMORY)
    return app.template
'''

TEST = """from apps.{app}.handler import handle


def test_handle() -> None:
    assert handle({{}}, None)["statusCode"] == 200
"""

APP_BUILD = """python_sources()

python_tests(name="tests")

python_awslambda(name="lambda", handler="handler.py:handle", runtime="python3.11")

cloudformation_stack(name="stack", source="infra.py", dependencies=[":lambda"])

cloudformation_deployment(
    name="deploy",
    stack=":stack",
    parameters={"LogRetentionDays": "14"},
)
"""

LIB = '''"""A library shared by a third of the apps."""


def greet(name: str, revision: int) -> str:
    return f"hello from {name} (revision {revision}, lib {lib})"
'''


def app_name(i: int) -> str:
    return f"svc{i:03d}"


@dataclass(eq=False)  # one object per repository, usable as a key
class Monorepo:
    root: Path
    apps: int
    store: Path

    def pants(self, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
        """Run ./pants here (`env`: overrides, None unsets); fails on a non-zero exit."""
        command = ["./pants", "--no-dynamic-ui", f"--local-store-dir={self.store}", *args]
        return run(command, cwd=self.root, env=child_env({"NO_COLOR": "1", **(env or {})}))

    def clone(self, dest: Path, store: Path) -> Monorepo:
        """A fresh clone of this repository's last commit, with its own local store."""
        run(["git", "clone", "-q", str(self.root), str(dest)])
        return Monorepo(dest, self.apps, store)

    def stop_pantsd(self) -> None:
        subprocess.run(["pkill", "-f", f"pantsd \\[{self.root}\\]"], capture_output=True)
        time.sleep(0.5)

    def git(self, *args: str) -> None:
        run(["git", *args], cwd=self.root)

    def _set(self, path: str, name: str, value: int) -> None:
        file = self.root / path
        before, after = file.read_text().split(f"{name} = ", 1)
        file.write_text(f"{before}{name} = {value}{after[after.index(chr(10)) :]}")

    def edit_handler(self, i: int, revision: int) -> None:
        """A code change to one app: its Lambda package, and so its stack version, change."""
        self._set(f"apps/{app_name(i)}/handler.py", "REVISION", revision)

    def set_memory(self, megabytes: int) -> None:
        """An infrastructure change to every app: each stack gets a resource update."""
        for i in range(self.apps):
            self._set(f"apps/{app_name(i)}/infra.py", "MEMORY", megabytes)

    def stack_names(self) -> list[str]:
        return [f"{app_name(i)}-dev" for i in range(self.apps)]


TESTS_TARGET = re.compile(r"^python_tests\((?:[^()]|\([^()]*\))*\)\n?", re.M)


def _without_tests(root: Path) -> None:
    """The test files are not copied: drop the `python_tests` targets that name them (an
    `overrides` entry for a missing file is an error)."""
    for build in root.rglob("BUILD"):
        text = build.read_text()
        if TESTS_TARGET.search(text):
            build.write_text(TESTS_TARGET.sub("", text))


def generate(source: Path, dest: Path, apps: int, store: Path) -> Monorepo:
    """Write a repository of `apps` apps at `dest` from the repository at `source`."""
    dest.mkdir(parents=True)
    for name in COPIED:
        src = source / name
        if src.is_dir():
            shutil.copytree(
                src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*_test.py")
            )
            _without_tests(dest / name)
        else:
            shutil.copy2(src, dest / name)
    _drop_test_overrides(dest)
    for k in range(SHARED_LIBS):
        lib = dest / f"libs/shared{k}"
        lib.mkdir(parents=True)
        (lib / "greeting.py").write_text(LIB.replace("{lib}", str(k)))
        (lib / "BUILD").write_text("python_sources()\n")
    for i in range(apps):
        app = dest / f"apps/{app_name(i)}"
        app.mkdir(parents=True)
        lib = f"shared{i % SHARED_LIBS}"
        (app / "handler.py").write_text(HANDLER.format(app=app_name(i), lib=lib))
        (app / "infra.py").write_text(INFRA.format(app=app_name(i)))
        (app / "handler_test.py").write_text(TEST.format(app=app_name(i)))
        (app / "BUILD").write_text(APP_BUILD)
    repo = Monorepo(dest, apps, store)
    repo.git("init", "-q", "-b", "main")
    repo.git("add", "-A")
    repo.git(
        "-c",
        "user.name=bench",
        "-c",
        "user.email=bench@example.invalid",
        "commit",
        "-qm",
        "initial",
    )
    return repo


def _drop_test_overrides(root: Path) -> None:
    """The tests are not copied: neither are the BUILD files' overrides naming them (which Pants
    refuses when the file is missing)."""
    for build in root.rglob("BUILD"):
        text = build.read_text()
        kept = re.sub(r'(?m)^\s*overrides=\{"[\w/]+_test\.py".*\n', "", text)
        if kept != text:
            build.write_text(kept)


def stop_process(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
