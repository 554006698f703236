"""A RuleRunner with jiti's rules, and a repository holding infra-lib and the default resolve."""

from __future__ import annotations

from pathlib import Path

from pants.backend.python import register as python_backend
from pants.core import register as core
from pants.core.goals.package import BuiltPackage
from pants.engine.internals.parametrize import Parametrize
from pants.engine.target import InferredDependencies
from pants.testutil.python_rule_runner import PythonRuleRunner
from pants.testutil.rule_runner import QueryRule

from jiti import register
from jiti.dependency_inference import InferStackDependencies
from jiti.package import CloudFormationStackPackageFieldSet
from jiti.synthesis import SynthesizedStack, SynthesizeStackRequest

# Inputs the test targets depend on (see this folder's BUILD), so they are in the sandbox.
RESOLVE_FILES = ["3rdparty/python/requirements.txt", "3rdparty/python/default.lock"]
BUILD_FILES = {
    "3rdparty/python/BUILD": (
        'python_requirements(name="reqs", source="requirements.txt", '
        'module_mapping={"boto3": ["boto3", "botocore"], "cfn-flip": ["cfn_flip"], "cfn-lint": ["cfnlint"]})'
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


def make_rule_runner(*extra_rules, extra_target_types=(), extra_options=()) -> PythonRuleRunner:
    rule_runner = PythonRuleRunner(
        rules=[
            *python_backend.rules(),
            *core.rules(),
            *register.rules(),
            *extra_rules,
            QueryRule(BuiltPackage, [CloudFormationStackPackageFieldSet]),
            QueryRule(SynthesizedStack, [SynthesizeStackRequest]),
            QueryRule(InferredDependencies, [InferStackDependencies]),
        ],
        objects={"parametrize": Parametrize},
        target_types=[
            *python_backend.target_types(),
            *core.target_types(),
            *register.target_types(),
            *extra_target_types,
        ],
    )
    library = sorted(Path("infra-lib/jiti_infra").rglob("*.py"))
    files = {str(path): path.read_text() for path in [*library, *map(Path, RESOLVE_FILES)]}
    files.update({str(path.parent / "BUILD"): "python_sources()" for path in library})
    rule_runner.write_files({**files, **BUILD_FILES})
    rule_runner.set_options(
        [
            "--python-infer-use-rust-parser",
            "--python-enable-resolves",
            "--python-resolves={'python-default': '3rdparty/python/default.lock'}",
            "--python-interpreter-constraints=['CPython==3.11.*']",
            "--source-root-patterns=['/infra-lib', '/']",
            "--pex-cli-version=v2.1.137",
            "--subprocess-environment-env-vars=['PIP_CONFIG_FILE=/dev/null']",
            *extra_options,
        ],
        env_inherit=ENV_INHERIT,
    )
    return rule_runner
