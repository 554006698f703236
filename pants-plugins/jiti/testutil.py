"""A RuleRunner with jiti's rules, and a repository holding infra-lib and the default resolve."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pants.backend.python import register as python_backend
from pants.core import register as core
from pants.core.goals.package import BuiltPackage, BuiltPackageArtifact, PackageFieldSet
from pants.engine.fs import CreateDigest, Digest, FileContent
from pants.engine.internals.parametrize import Parametrize
from pants.engine.rules import Get, rule
from pants.engine.target import COMMON_TARGET_FIELDS, StringField, Target
from pants.engine.unions import UnionRule
from pants.testutil.python_rule_runner import PythonRuleRunner

from jiti import register

# Inputs the test targets depend on (see this folder's BUILD), so they are in the sandbox.
RESOLVE_FILES = ["3rdparty/python/requirements.txt", "3rdparty/python/default.lock"]
BUILD_FILES = {
    "3rdparty/python/BUILD": (
        'python_requirements(name="reqs", source="requirements.txt", '
        'module_mapping={"boto3": ["boto3", "botocore"], "cfn-flip": ["cfn_flip", "cfn_tools"], "cfn-lint": ["cfnlint"]})'
    ),
}
# What Pants needs from the outer environment to run offline (see ./pants).
ENV_INHERIT = {
    "PATH",
    "PYENV_ROOT",
    "HOME",
    "PANTS_PEX_CLI_KNOWN_VERSIONS",
    "PANTS_PEX_CLI_URL_TEMPLATE",
    "PANTS_CA_CERTS_PATH",
}


class BlobContentField(StringField):
    alias = "content"
    help = "Content of the one file this test package writes; `fail` makes packaging fail."


class BlobTarget(Target):
    """A packageable target for tests: its package is one file holding `content`."""

    alias = "blob"
    core_fields = (*COMMON_TARGET_FIELDS, BlobContentField)
    help = "A packageable test target."


@dataclass(frozen=True)
class BlobFieldSet(PackageFieldSet):
    required_fields = (BlobContentField,)
    content: BlobContentField


@rule
async def package_blob(field_set: BlobFieldSet) -> BuiltPackage:
    if field_set.content.value == "fail":
        raise ValueError("the blob could not be built")
    path = f"{field_set.address.target_name}.bin"
    digest = await Get(Digest, CreateDigest([FileContent(path, field_set.content.value.encode())]))
    return BuiltPackage(digest, (BuiltPackageArtifact(path),))


BLOB_RULES = (package_blob, UnionRule(PackageFieldSet, BlobFieldSet))


BASE_OPTIONS = (
    "--python-infer-use-rust-parser",
    "--python-enable-resolves",
    "--python-resolves={'python-default': '3rdparty/python/default.lock'}",
    "--python-interpreter-constraints=['CPython==3.11.*']",
    "--source-root-patterns=['/infra-lib', '/']",
    "--pex-cli-version=v2.1.137",
    "--subprocess-environment-env-vars=['PIP_CONFIG_FILE=/dev/null']",
)


def make_rule_runner(*extra_rules, extra_target_types=()) -> PythonRuleRunner:
    rule_runner = PythonRuleRunner(
        rules=[
            *python_backend.rules(),
            *core.rules(),
            *register.rules(),
            *extra_rules,
        ],
        objects={"parametrize": Parametrize, **python_backend.build_file_aliases().objects},
        target_types=[
            *python_backend.target_types(),
            *core.target_types(),
            *register.target_types(),
            *extra_target_types,
        ],
    )
    library = sorted(p for p in Path("infra-lib").rglob("*.py") if not p.name.endswith("_test.py"))
    files = {str(path): path.read_text() for path in [*library, *map(Path, RESOLVE_FILES)]}
    files.update({str(path.parent / "BUILD"): "python_sources()" for path in library})
    rule_runner.write_files({**files, **BUILD_FILES})
    set_options(rule_runner)
    return rule_runner


def set_options(rule_runner: PythonRuleRunner, *args: str, env: dict | None = None) -> None:
    """The options jiti's tests run with (the repository's, offline), plus `args`."""
    rule_runner.set_options([*BASE_OPTIONS, *args], env=env, env_inherit=ENV_INHERIT)
