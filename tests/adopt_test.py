"""Adopting jiti in another Pants repository, as docs/adopt.md tells it: build the two wheels
here, install the plugin through `[GLOBAL].plugins` and `jiti-infra` as a requirement of the
team's own resolve, let `tailor` write the app's targets, deploy to the local AWS, then lint.

The adopting repository has no `pants-plugins/` and no `infra-lib/`: the plugin builds the
deploy runtime from the files and lockfile it ships.
"""

from __future__ import annotations

import re
import shutil
import time
import zipfile
from pathlib import Path

import pytest

from tests.conftest import Repo
from tests.e2e_target import Run

# The adopting repository's own configuration. `./pants` and the `[pex-cli]`/
# `[subprocess-environment]` settings are what Pants needs on a machine that reaches only PyPI
# (docs/adopt.md, "Offline machines"); the rest is what docs/adopt.md tells a team to add.
PANTS_TOML = """\
[GLOBAL]
pants_version = "2.17.1"
plugins = ["jiti-pants=={version}"]
backend_packages = ["pants.backend.python", "jiti"]

[python-repos]
# Where the team keeps jiti's wheels (a directory, or an index of its own).
find_links = ["file://%(buildroot)s/wheels"]

[anonymous-telemetry]
enabled = false

[source]
root_patterns = ["/"]

[python]
interpreter_constraints = ["CPython==3.11.*"]
enable_resolves = true

[python.resolves]
python-default = "3rdparty/python/default.lock"

[python-infer]
use_rust_parser = true

[pex-cli]
version = "v2.1.137"

[subprocess-environment]
env_vars = ["PIP_CONFIG_FILE=/dev/null"]

[lambdex]
layout = "zip"

[jiti]
repository = "adopter"
"""

HANDLER = """def handle(event, context):
    return {"statusCode": 200, "body": "hello"}
"""

INFRA = """from jiti_infra import App, http_api, lambda_function


def template(app: App):
    fn = lambda_function(app, "Handler", asset=app.asset(":lambda"), memory=256)
    http_api(app, "Api", routes={"GET /hello": fn})
    return app.template
"""

# What a user adds to the BUILD file `tailor` wrote: the Lambda, as an asset of the stack, and
# where the stack goes.
STACK_ASSETS = ('source="infra.py",', 'source="infra.py",\n    dependencies=[":lambda"],')
DEPLOYMENT = """
python_awslambda(name="lambda", handler="handler.py:handle", runtime="python3.11")

cloudformation_deployment(name="deploy", stack=":stack", environment="dev", region="us-east-1")
"""


def build_wheels(jiti: Repo) -> tuple[str, list[Path]]:
    jiti.pants("package", "//:jiti-pants", "infra-lib:jiti-infra")
    wheels = sorted((jiti.root / "dist").glob("jiti_*.whl"))
    assert [w.name.split("-")[0] for w in wheels] == ["jiti_infra", "jiti_pants"], wheels
    version = wheels[0].name.split("-")[1]
    for wheel in wheels:
        print(f"{wheel.name}: {wheel.stat().st_size} bytes")
    return version, wheels


def write_adopter(root: Path, jiti: Repo, version: str, wheels: list[Path]) -> None:
    (root / "wheels").mkdir(parents=True)
    for wheel in wheels:
        shutil.copy2(wheel, root / "wheels" / wheel.name)
    shutil.copy2(jiti.root / "pants", root / "pants")
    shutil.copy2(jiti.root / ".checkov.yaml", root / ".checkov.yaml")
    files = {
        "pants.toml": PANTS_TOML.replace("{version}", version),
        "3rdparty/python/requirements.txt": f"jiti-infra=={version}\n",
        "apps/hello/handler.py": HANDLER,
        "apps/hello/infra.py": INFRA,
        ".gitignore": "/dist/\n/.jiti/\n/.pants.d/\n",
    }
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)


@pytest.mark.local_only("the adopting repository deploys to its own local AWS")
def test_a_pants_repository_adopts_jiti_from_its_wheels(make_repo, tmp_path_factory):
    started = time.monotonic()
    jiti = make_repo()
    version, wheels = build_wheels(jiti)
    plugin = zipfile.ZipFile(next(w for w in wheels if w.name.startswith("jiti_pants")))
    assert "jiti/util_rules/deploy_runtime.lock" in plugin.namelist()
    assert "jiti_deploy/__main__.py" in plugin.namelist()

    root = tmp_path_factory.getbasetemp() / "adopter"
    write_adopter(root, jiti, version, wheels)
    adopter = Repo(root, jiti.store_dir, Run("dev", None))
    try:
        adopter.pants("tailor", "::")
        build = (root / "apps/hello/BUILD").read_text()
        assert re.search(
            r'cloudformation_stack\(\s*name="stack",\s*source="infra.py"', build
        ), build
        assert (root / "3rdparty/python/BUILD").exists()
        adopter.write("apps/hello/BUILD", build.replace(*STACK_ASSETS) + DEPLOYMENT)
        adopter.pants("generate-lockfiles")
        assert '"jiti-infra"' in (root / "3rdparty/python/default.lock").read_text()

        adopter.pants("package", "deploy-stacks", "::")
        stack = adopter.aws("cloudformation").describe_stacks(StackName="hello-dev")["Stacks"][0]
        assert stack["StackStatus"] == "CREATE_COMPLETE"
        adopter.pants("lint", "::")
        adopter.pants("tailor", "--check", "::")
    finally:
        adopter.stop()
    print(f"adoption took {time.monotonic() - started:.0f} s")
