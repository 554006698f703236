"""`package` for `python_awslambda` with no process per Lambda.

Pants 2.17's own rule runs the pex tool twice for every Lambda (a repository pex of the
Lambda's sources and requirements, then `pex3 venv create --layout flat-zipped` from it): ~4 s
each on 2 cores, nearly all of a cold `package ::`. Here the third-party requirements are
installed flat once per distinct requirement set from the resolve's lockfile (Lambdas with the
same requirements share it, and it is an ordinary cacheable process), and the zip of the
Lambda's stripped sources, the handler shim and those requirements is written in the rule, the
way `flat-zipped` writes it: byte for byte the zip Pants' own rule makes.

jiti registers the `python_awslambda` target and this rule in place of Pants'
`pants.backend.awslambda.python` backend (enable one or the other). Targets this does not
cover (`[lambdex].layout = "lambdex"`, local Python distributions in the closure) are built by
Pants' own builders when the `jiti.lambda_fallback` backend is enabled, and stop with an error
naming the target and the setting otherwise.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterable, Mapping

from pants.backend.awslambda.python import target_types as awslambda_target_types
from pants.backend.awslambda.python.rules import PythonAwsLambdaFieldSet
from pants.backend.awslambda.python.target_types import PythonAwsLambdaHandlerField
from pants.backend.python.subsystems import lambdex as lambdex_subsystem
from pants.backend.python.subsystems.lambdex import Lambdex, LambdexLayout
from pants.backend.python.target_types import (
    PexLayout,
    PythonDistributionDependenciesField,
    PythonRequirementsField,
)
from pants.backend.python.util_rules.faas import (
    PythonFaaSCompletePlatforms,
    ResolvedPythonFaaSHandler,
    ResolvePythonFaaSHandlerRequest,
)
from pants.backend.python.util_rules.interpreter_constraints import InterpreterConstraints
from pants.backend.python.util_rules.pex import CompletePlatforms, Pex, PexPlatforms, PexRequest
from pants.backend.python.util_rules.pex_from_targets import (
    ChosenPythonResolve,
    ChosenPythonResolveRequest,
    InterpreterConstraintsRequest,
)
from pants.backend.python.util_rules.pex_requirements import PexRequirements, Resolve
from pants.backend.python.util_rules.pex_venv import PexVenv, PexVenvLayout, PexVenvRequest
from pants.backend.python.util_rules.python_sources import (
    PythonSourceFilesRequest,
    StrippedPythonSourceFiles,
)
from pants.core.goals.package import BuiltPackage, BuiltPackageArtifact, PackageFieldSet
from pants.engine.addresses import Addresses
from pants.engine.environment import EnvironmentName
from pants.engine.fs import (
    EMPTY_DIGEST,
    CreateDigest,
    Digest,
    DigestContents,
    DigestEntries,
    Directory,
    FileContent,
    RemovePrefix,
)
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import Target, TransitiveTargets, TransitiveTargetsRequest
from pants.engine.unions import UnionMembership, UnionRule, union
from pants.util.logging import LogLevel

from jiti.errors import JitiError

# What pex's flat-zipped layout writes (pex.common.DETERMINISTIC_DATETIME and Unix modes).
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
_DIRECTORY_MODE = 0o40755
_FILE_MODE = 0o100644
_EXECUTABLE_MODE = 0o100755
_MSDOS_DIRECTORY_FLAG = 0x10

_REQUIREMENTS_DIR = "lambda-requirements"
# As Pants' python_awslambda passes them to pex for a Lambda runtime.
_PEX_PLATFORM_ARGS = ("--manylinux=manylinux2014", "--resolve-local-platforms")


@dataclass(frozen=True)
class _FlatRequirementsRequest:
    """Third-party requirements from a resolve, for a Lambda runtime; no address, so Lambdas
    with the same requirements share one install."""

    requirements: tuple[str, ...]
    resolve: str
    interpreter_constraints: InterpreterConstraints
    platforms: PexPlatforms
    complete_platforms: CompletePlatforms


def flat_zip(files: Mapping[str, tuple[bytes, bool]], directories: Iterable[str] = ()) -> bytes:
    """The zip pex's `flat-zipped` layout writes for a directory holding `files`
    (path -> (content, executable)): every parent directory as its own entry, all entries sorted
    by path, dated 1980-01-01, with Unix modes; files deflated."""
    dirs = set(directories)
    for path in files:
        dirs.update(str(parent) for parent in PurePosixPath(path).parents if str(parent) != ".")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", allowZip64=True) as zf:
        for path in sorted({*dirs, *files}):
            if path in files:
                data, executable = files[path]
                info = zipfile.ZipInfo(filename=path, date_time=ZIP_DATE_TIME)
                info.external_attr = (_EXECUTABLE_MODE if executable else _FILE_MODE) << 16
                info.file_size = len(data)
                info.compress_type = zipfile.ZIP_DEFLATED
            else:
                data = b""
                info = zipfile.ZipInfo(filename=f"{path}/", date_time=ZIP_DATE_TIME)
                info.external_attr = _DIRECTORY_MODE << 16 | _MSDOS_DIRECTORY_FLAG
                info.file_size = 0
                info.compress_type = zipfile.ZIP_STORED
            zf.writestr(info, data)
    return buffer.getvalue()


def handler_shim(handler: ResolvedPythonFaaSHandler) -> FileContent:
    """The module AWS calls (`lambda_function.handler`), re-exporting the target's handler."""
    module = PythonAwsLambdaHandlerField.reexported_handler_module
    return FileContent(
        f"{module}.py", f"from {handler.module} import {handler.func} as handler".encode()
    )


@rule(desc="Install Lambda requirements flat", level=LogLevel.DEBUG)
async def flat_requirements(request: _FlatRequirementsRequest) -> Digest:
    """The requirements as `pip install --target` lays them out (pex's flat layout)."""
    if not request.requirements:
        return EMPTY_DIGEST
    pex = await Get(
        Pex,
        PexRequest(
            output_filename=f"{_REQUIREMENTS_DIR}.pex",
            internal_only=False,
            layout=PexLayout.PACKED,
            requirements=PexRequirements(
                request.requirements,
                from_superset=Resolve(request.resolve, use_entire_lockfile=False),
                description_of_origin="Lambda requirements",
            ),
            interpreter_constraints=request.interpreter_constraints,
            platforms=request.platforms,
            complete_platforms=request.complete_platforms,
            additional_args=_PEX_PLATFORM_ARGS,
            description=f"Resolve Lambda requirements: {', '.join(request.requirements)}",
        ),
    )
    venv = await Get(
        PexVenv,
        PexVenvRequest(
            pex=pex,
            layout=PexVenvLayout.FLAT,
            platforms=request.platforms,
            complete_platforms=request.complete_platforms,
            output_path=Path(_REQUIREMENTS_DIR),
            description=f"Install Lambda requirements flat: {', '.join(request.requirements)}",
        ),
    )
    return await Get(Digest, RemovePrefix(venv.digest, _REQUIREMENTS_DIR))


@union(in_scope_types=[EnvironmentName])
@dataclass(frozen=True)
class LambdaFallbackRequest:
    """A `python_awslambda` jiti's builder does not cover, for Pants' own builders: the
    `jiti.lambda_fallback` backend registers the member that builds it."""

    field_set: PythonAwsLambdaFieldSet


def _fallback_reason(lambdex: Lambdex, closure: Iterable[Target]) -> str | None:
    if lambdex.layout is not LambdexLayout.ZIP:
        return f'`[lambdex].layout = "{lambdex.layout.value}"`'
    local = [t.address.spec for t in closure if t.has_field(PythonDistributionDependenciesField)]
    return (
        f"the local python_distribution {', '.join(local)} in its dependencies" if local else None
    )


async def _fallback(
    field_set: PythonAwsLambdaFieldSet, reason: str, union_membership: UnionMembership
) -> BuiltPackage:
    members = union_membership.get(LambdaFallbackRequest)
    if not members:
        raise JitiError(
            f"{field_set.address}: jiti builds a python_awslambda's zip itself, but not with "
            f'{reason}. Set `[lambdex].layout = "zip"` in pants.toml (and package local '
            'distributions as requirements), or add "jiti.lambda_fallback" to '
            "[GLOBAL].backend_packages to build it with Pants' own builders."
        )
    return await Get(BuiltPackage, LambdaFallbackRequest, next(iter(members))(field_set))


@rule(desc="Create Python AWS Lambda", level=LogLevel.DEBUG)
async def package_python_awslambda(
    field_set: PythonAwsLambdaFieldSet, lambdex: Lambdex, union_membership: UnionMembership
) -> BuiltPackage:
    transitive = await Get(TransitiveTargets, TransitiveTargetsRequest([field_set.address]))
    reason = _fallback_reason(lambdex, transitive.closure)
    if reason:
        return await _fallback(field_set, reason, union_membership)

    platform = field_set.runtime.to_platform_string()
    platforms = PexPlatforms([platform] if platform else [])
    requirements = (
        PexRequirements.req_strings_from_requirement_fields(
            tgt[PythonRequirementsField]
            for tgt in transitive.closure
            if tgt.has_field(PythonRequirementsField)
        )
        if field_set.include_requirements.value
        else ()
    )
    complete_platforms, handler, sources, resolve, interpreter_constraints = await MultiGet(
        Get(CompletePlatforms, PythonFaaSCompletePlatforms, field_set.complete_platforms),
        Get(ResolvedPythonFaaSHandler, ResolvePythonFaaSHandlerRequest(field_set.handler)),
        Get(StrippedPythonSourceFiles, PythonSourceFilesRequest(transitive.closure)),
        Get(ChosenPythonResolve, ChosenPythonResolveRequest(Addresses([field_set.address]))),
        Get(InterpreterConstraints, InterpreterConstraintsRequest([field_set.address])),
    )
    requirements_digest = await Get(
        Digest,
        _FlatRequirementsRequest(
            tuple(requirements),
            resolve.name,
            interpreter_constraints,
            platforms,
            complete_platforms,
        ),
    )
    shim = handler_shim(handler)
    source_digest = sources.stripped_source_files.snapshot.digest
    (source_contents, requirement_contents, requirement_entries) = await MultiGet(
        Get(DigestContents, Digest, source_digest),
        Get(DigestContents, Digest, requirements_digest),
        Get(DigestEntries, Digest, requirements_digest),
    )
    files = {
        fc.path: (fc.content, fc.is_executable)
        for fc in (*requirement_contents, *source_contents, shim)
    }
    empty_dirs = [e.path for e in requirement_entries if isinstance(e, Directory)]

    output = field_set.output_path.value_or_default(file_ending="zip")
    digest = await Get(Digest, CreateDigest([FileContent(output, flat_zip(files, empty_dirs))]))
    return BuiltPackage(
        digest,
        (
            BuiltPackageArtifact(
                output, extra_log_lines=(f"    Handler: {shim.path[:-3]}.handler",)
            ),
        ),
    )


def rules():
    return [
        *collect_rules(),
        *awslambda_target_types.rules(),
        *lambdex_subsystem.rules(),
        UnionRule(PackageFieldSet, PythonAwsLambdaFieldSet),
    ]
