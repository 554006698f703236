"""Stack synthesis: a `cloudformation_stack` target -> template, manifest and assets.

Shared by the `package` and deploy rules through a plain request type, so both get the same
cached result. Synthesis runs jiti_infra.synth in a sandboxed venv that holds only third-party
requirements, with the stack's Python sources beside it on `PEX_EXTRA_SYS_PATH` (as Pants runs
pytest): stacks with the same requirements share one environment, so a stack costs one
process, not a pex build and a venv each. Packaged dependencies become content-addressed
assets.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import PurePath

from pants.backend.python.target_types import EntryPoint, PythonSourceField
from pants.backend.python.util_rules.pex import PexRequest, VenvPex, VenvPexProcess
from pants.backend.python.util_rules.pex_from_targets import PexFromTargetsRequest
from pants.backend.python.util_rules.python_sources import (
    PythonSourceFiles,
    PythonSourceFilesRequest,
)
from pants.core.goals.package import (
    BuiltPackage,
    EnvironmentAwarePackageRequest,
    PackageFieldSet,
)
from pants.core.target_types import FileSourceField, ResourceSourceField
from pants.core.util_rules.source_files import SourceFiles, SourceFilesRequest
from pants.core.util_rules.stripped_source_files import (
    StrippedFileName,
    StrippedFileNameRequest,
)
from pants.engine.addresses import Address
from pants.engine.fs import (
    CreateDigest,
    Digest,
    DigestContents,
    DigestEntries,
    FileContent,
    FileEntry,
    MergeDigests,
)
from pants.engine.process import FallibleProcessResult
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import (
    AllTargets,
    DependenciesRequest,
    DescriptionField,
    FieldSetsPerTarget,
    FieldSetsPerTargetRequest,
    Targets,
    TransitiveTargets,
    TransitiveTargetsRequest,
    WrappedTarget,
    WrappedTargetRequest,
)
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from jiti.dependency_inference import SYNTH_ENTRY_POINT, module_name
from jiti.errors import JitiError
from jiti.target_types import (
    CloudFormationStackDependenciesField,
    CloudFormationStackNameField,
    CloudFormationStackOutputPathField,
    CloudFormationStackSourceField,
    CloudFormationStackTagsField,
)

SYNTH_USER_ERROR = 2
_REQUEST_FILE = "__jiti_synth_request.json"
_OUTPUT_FILE = "__jiti_synth_out/template.json"


@dataclass(frozen=True)
class StackAsset:
    """A packaged dependency, named by its content: `assets/<sha256><ext>`."""

    address: str
    sha256: str
    size: int
    key: str
    file: str  # path of the copy in the stack's artifacts, relative to the manifest


@dataclass(frozen=True)
class SynthesizeStackRequest:
    address: Address


@dataclass(frozen=True)
class SynthesizedStack:
    """The stack's artifacts, laid out as under `dist/`: `<base>.template.json`,
    `<base>.manifest.json` and `<base>.assets/`."""

    address: Address
    stack_name: str
    version: str
    base: str
    digest: Digest
    assets: tuple[StackAsset, ...]

    @property
    def template_path(self) -> str:
        return f"{self.base}.template.json"

    @property
    def manifest_path(self) -> str:
        return f"{self.base}.manifest.json"

    @property
    def asset_paths(self) -> tuple[str, ...]:
        return tuple(str(PurePath(self.base).parent / a.file) for a in self.assets)


@dataclass(frozen=True)
class StackNames:
    """Every `cloudformation_stack` target's stack name, to catch two stacks sharing one."""

    owners: FrozenDict[str, tuple[Address, ...]]


@rule(desc="Collect CloudFormation stack names", level=LogLevel.DEBUG)
async def collect_stack_names(all_targets: AllTargets) -> StackNames:
    owners: dict[str, list[Address]] = defaultdict(list)
    for tgt in all_targets:
        if tgt.has_field(CloudFormationStackSourceField):
            owners[tgt[CloudFormationStackNameField].value_or_default()].append(tgt.address)
    return StackNames(FrozenDict({name: tuple(sorted(addrs)) for name, addrs in owners.items()}))


def asset_key(sha256: str, filename: str) -> str:
    return f"assets/{sha256}{''.join(PurePath(filename).suffixes)}"


def stack_version(template: bytes, assets: tuple[StackAsset, ...]) -> str:
    """sha256 over the canonical template and every asset's content digest."""
    h = hashlib.sha256(template)
    for asset in sorted(assets, key=lambda a: a.address):
        h.update(f"\0{asset.address}\0{asset.sha256}".encode())
    return h.hexdigest()


def deterministic_zip(files: dict[str, bytes]) -> bytes:
    """A zip of `files` that depends on their names and contents only (no times, no modes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, files[name])
    return buffer.getvalue()


async def _built_package_files(
    stack_address: Address, deps: Targets
) -> list[tuple[str, FileEntry]]:
    """Packageable dependencies (e.g. `python_awslambda`, `archive`), one file each."""
    field_sets_per_target = await Get(
        FieldSetsPerTarget, FieldSetsPerTargetRequest(PackageFieldSet, deps)
    )
    packageable = [
        (tgt, field_sets[0])
        for tgt, field_sets in zip(deps, field_sets_per_target.collection)
        if field_sets
    ]
    try:
        built_packages = await MultiGet(
            Get(BuiltPackage, EnvironmentAwarePackageRequest(field_set))
            for _, field_set in packageable
        )
    except Exception as e:
        names = ", ".join(str(tgt.address) for tgt, _ in packageable)
        raise JitiError(
            f"{stack_address}: a packaged dependency (field `dependencies`: {names}) could not "
            f"be built: {e}"
        ) from e
    entries_per_package = await MultiGet(
        Get(DigestEntries, Digest, pkg.digest) for pkg in built_packages
    )
    result = []
    for (tgt, _), entries in zip(packageable, entries_per_package):
        files = [e for e in entries if isinstance(e, FileEntry)]
        if len(files) != 1:
            raise JitiError(
                f"{stack_address}: dependency {tgt.address} (field `dependencies`) packages "
                f"{len(files)} files; an asset must be exactly one file"
            )
        result.append((str(tgt.address), files[0]))
    return result


async def _zipped_file_groups(deps: Targets) -> list[tuple[str, FileEntry]]:
    """`files`/`resources` dependencies, one deterministic zip per generating target, with
    paths relative to that target's directory (e.g. a static site's content)."""
    groups: dict[Address, list] = defaultdict(list)
    for tgt in deps:
        for field_type in (FileSourceField, ResourceSourceField):
            if tgt.has_field(field_type):
                groups[tgt.address.maybe_convert_to_target_generator()].append(tgt[field_type])
    ordered = sorted(groups)
    sources_per_group = await MultiGet(
        Get(SourceFiles, SourceFilesRequest(groups[address])) for address in ordered
    )
    contents_per_group = await MultiGet(
        Get(DigestContents, Digest, sources.snapshot.digest) for sources in sources_per_group
    )
    result = []
    for address, contents in zip(ordered, contents_per_group):
        prefix = f"{address.spec_path}/" if address.spec_path else ""
        data = deterministic_zip({fc.path[len(prefix) :]: fc.content for fc in contents})
        digest = await Get(Digest, CreateDigest([FileContent("bundle.zip", data)]))
        entry = next(
            e for e in await Get(DigestEntries, Digest, digest) if isinstance(e, FileEntry)
        )
        result.append((str(address), entry))
    return result


async def _assets(
    stack_address: Address, deps: Targets, base: str
) -> tuple[tuple[StackAsset, ...], Digest]:
    files = [
        *(await _built_package_files(stack_address, deps)),
        *(await _zipped_file_groups(deps)),
    ]
    assets = []
    copies = []
    for address, entry in files:
        sha = entry.file_digest.fingerprint
        key = asset_key(sha, entry.path)
        file = f"{PurePath(base).name}.assets/{PurePath(key).name}"
        assets.append(
            StackAsset(
                address=address,
                sha256=sha,
                size=entry.file_digest.serialized_bytes_length,
                key=key,
                file=file,
            )
        )
        copies.append(FileEntry(str(PurePath(base).parent / file), entry.file_digest))
    return tuple(sorted(assets, key=lambda a: a.address)), await Get(Digest, CreateDigest(copies))


def _python_sources_for(
    address: Address, source: CloudFormationStackSourceField, deps: Targets
) -> tuple[Address, ...]:
    roots = tuple(t.address for t in deps if t.has_field(PythonSourceField))
    owns_source = any(
        t[PythonSourceField].file_path == source.file_path
        for t in deps
        if t.has_field(PythonSourceField)
    )
    if source.is_troposphere and not owns_source:
        raise JitiError(
            f"{address}: field `source`: {source.file_path} is not owned by a `python_source` "
            f"target; add `python_sources()` to {address.spec_path or '.'}/BUILD so its imports "
            "are followed"
        )
    return roots


@rule(desc="Synthesize a CloudFormation stack", level=LogLevel.DEBUG)
async def synthesize_stack(
    request: SynthesizeStackRequest, stack_names: StackNames
) -> SynthesizedStack:
    wrapped = await Get(
        WrappedTarget,
        WrappedTargetRequest(request.address, description_of_origin="the jiti plugin"),
    )
    tgt = wrapped.target
    address = tgt.address
    source = tgt[CloudFormationStackSourceField]
    stack_name = tgt[CloudFormationStackNameField].value_or_default()
    clashes = stack_names.owners.get(stack_name, ())
    if len(clashes) > 1:
        raise JitiError(
            f"{address}: field `stack_name`: the stack name {stack_name!r} is used by "
            f"{', '.join(map(str, clashes))}; give each stack its own `stack_name`"
        )

    base = tgt[CloudFormationStackOutputPathField].value_or_default(file_ending=None)
    deps = await Get(Targets, DependenciesRequest(tgt[CloudFormationStackDependenciesField]))
    python_roots = _python_sources_for(address, source, deps)
    assets, assets_digest = await _assets(address, deps, base)

    module = None
    if source.is_troposphere:
        stripped = await Get(StrippedFileName, StrippedFileNameRequest(source.file_path))
        module = module_name(stripped.value)
    synth_request = {
        "address": str(address),
        "app": stack_name,
        "assets": {a.address: {"key": a.key, "sha256": a.sha256} for a in assets},
        "description": tgt[DescriptionField].value,
        "module": module,
        "source": source.file_path,
    }
    pex_request, python_closure, source_files, request_digest = await MultiGet(
        Get(
            PexRequest,
            PexFromTargetsRequest(
                python_roots,
                output_filename="jiti-synth.pex",
                internal_only=True,
                include_source_files=False,
                main=EntryPoint(SYNTH_ENTRY_POINT),
                # No address: equal requests (same requirements) are built once.
                description="Build jiti's synthesis environment",
            ),
        ),
        Get(TransitiveTargets, TransitiveTargetsRequest(python_roots)),
        Get(SourceFiles, SourceFilesRequest([source])),
        Get(
            Digest,
            CreateDigest(
                [
                    FileContent(
                        _REQUEST_FILE,
                        json.dumps(synth_request, sort_keys=True).encode(),
                    )
                ]
            ),
        ),
    )
    synth_pex, python_sources = await MultiGet(
        Get(VenvPex, PexRequest, pex_request),
        Get(PythonSourceFiles, PythonSourceFilesRequest(python_closure.closure)),
    )
    input_digest = await Get(
        Digest,
        MergeDigests(
            [
                request_digest,
                source_files.snapshot.digest,
                python_sources.source_files.snapshot.digest,
            ]
        ),
    )
    result = await Get(
        FallibleProcessResult,
        VenvPexProcess(
            synth_pex,
            argv=(_REQUEST_FILE, _OUTPUT_FILE),
            input_digest=input_digest,
            extra_env={"PEX_EXTRA_SYS_PATH": ":".join(python_sources.source_roots)},
            output_files=(_OUTPUT_FILE,),
            description=f"Synthesize the CloudFormation template of {address}",
            level=LogLevel.DEBUG,
        ),
    )
    stderr = result.stderr.decode(errors="replace").strip()
    if result.exit_code == SYNTH_USER_ERROR:
        raise JitiError(f"{address}: field `source`: {stderr}")
    if result.exit_code != 0:
        raise JitiError(
            f"{address}: synthesizing {source.file_path} failed (exit code {result.exit_code}):\n{stderr}"
        )
    template = (await Get(DigestContents, Digest, result.output_digest))[0].content

    version = stack_version(template, assets)
    manifest = {
        "address": str(address),
        "assets": [
            {
                "address": a.address,
                "file": a.file,
                "key": a.key,
                "sha256": a.sha256,
                "size": a.size,
            }
            for a in assets
        ],
        "description": tgt[DescriptionField].value,
        "parameters": json.loads(template).get("Parameters", {}),
        "stack_name": stack_name,
        "tags": dict(tgt[CloudFormationStackTagsField].value or {}),
        "template": f"{PurePath(base).name}.template.json",
        "template_sha256": hashlib.sha256(template).hexdigest(),
        "version": version,
        "version_short": version[:12],
    }
    files_digest = await Get(
        Digest,
        CreateDigest(
            [
                FileContent(f"{base}.template.json", template),
                FileContent(
                    f"{base}.manifest.json",
                    (json.dumps(manifest, sort_keys=True, indent=2) + "\n").encode(),
                ),
            ]
        ),
    )
    digest = await Get(Digest, MergeDigests([files_digest, assets_digest]))
    return SynthesizedStack(
        address=address,
        stack_name=stack_name,
        version=version,
        base=base,
        digest=digest,
        assets=assets,
    )


def rules():
    return collect_rules()
