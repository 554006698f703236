"""`[jiti-deploy-runtime]`: where the deploy runtime's code and requirements come from.

In jiti's own repository the runtime is built from its `jiti_deploy` sources and the default
resolve. A repository that installed the plugin (`[GLOBAL].plugins = ["jiti-pants==..."]`) has
no such sources: the plugin ships the runtime's files and a lockfile for its requirements (as
the linters ship theirs), and builds the runtime from those, or from the team's own resolve.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from pants.backend.python.subsystems.python_tool_base import LockfileRules, PythonToolBase
from pants.backend.python.target_types import EntryPoint
from pants.engine.fs import CreateDigest, Digest, FileContent
from pants.engine.rules import Get, collect_rules, rule
from pants.option.option_types import EnumOption
from pants.util.logging import LogLevel
from pants.util.strutil import help_text

from jiti.errors import JitiError

# The runtime's top-level modules and packages, shipped in the plugin as resources.
RUNTIME_MODULES = ("jiti_contract", "jiti_daemon", "jiti_version")
RUNTIME_PACKAGES = ("jiti_deploy",)
# Files of jiti's repository that are not the runtime (its tests and their helpers).
NOT_RUNTIME = ("conftest.py", "testutil.py", "iam_calls.py")


class RuntimeSource(Enum):
    auto = "auto"
    repository = "repository"
    plugin = "plugin"


class DeployRuntimeTool(PythonToolBase):
    options_scope = "jiti-deploy-runtime"
    name = "jiti-deploy-runtime"
    help = help_text(
        """
        jiti's deploy runtime: the program that deploys the stacks (boto3, and the embedded
        local AWS). The plugin ships its code and a lockfile for its requirements; set
        `install_from_resolve` to install them from one of your own resolves instead.
        """
    )

    default_version = "boto3>=1.35,<2"
    default_extra_requirements = ["moto[server]==5.2.5", "cfn-lint>=1.20,<2"]
    default_requirements = [default_version, *default_extra_requirements]
    default_main = EntryPoint("jiti_deploy")

    register_interpreter_constraints = True
    # cfn-lint releases after 1.46 (the local AWS reads its schemas) need Python 3.10.
    default_interpreter_constraints = ["CPython>=3.10,<3.13"]

    default_lockfile_resource = ("jiti.util_rules", "deploy_runtime.lock")
    lockfile_rules_type = LockfileRules.SIMPLE

    source = EnumOption(
        default=RuntimeSource.auto,
        help=help_text(
            """
            Where the runtime's code comes from: `repository` builds it from the `jiti_deploy`
            sources of this repository (jiti's own, or a fork of it), `plugin` from the files
            shipped in the installed plugin, and `auto` from the repository's sources when a
            `python_source` in the default resolve owns `jiti_deploy`, else from the plugin.
            """
        ),
    )


def _runtime_file(path: Path, root: Path) -> FileContent:
    return FileContent(path.relative_to(root).as_posix(), path.read_bytes())


def _package_files(name: str) -> list[FileContent]:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise JitiError(f"the installed jiti plugin has no `{name}` package: reinstall it")
    package = Path(list(spec.submodule_search_locations)[0])
    return [
        _runtime_file(Path(dirpath, f), package.parent)
        for dirpath, _, files in sorted(os.walk(package))
        for f in sorted(files)
        if f.endswith(".py") and not f.endswith("_test.py") and f not in NOT_RUNTIME
    ]


def packaged_runtime_files() -> list[FileContent]:
    """The runtime's files as the installed plugin has them (read where Python finds them)."""
    modules = []
    for name in RUNTIME_MODULES:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.origin:
            raise JitiError(f"the installed jiti plugin has no `{name}` module: reinstall it")
        modules.append(FileContent(f"{name}.py", Path(spec.origin).read_bytes()))
    return [*modules, *(f for name in RUNTIME_PACKAGES for f in _package_files(name))]


@dataclass(frozen=True)
class PackagedRuntimeFiles:
    """The runtime's files shipped in the plugin, as a digest."""

    digest: Digest


@rule(desc="Read jiti's deploy runtime from the plugin", level=LogLevel.DEBUG)
async def packaged_runtime_digest() -> PackagedRuntimeFiles:
    return PackagedRuntimeFiles(await Get(Digest, CreateDigest(packaged_runtime_files())))


def rules():
    return collect_rules()
