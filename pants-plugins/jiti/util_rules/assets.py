"""A stack's assets: its packaged dependencies, each one file named by its content.

Packageable dependencies (a `python_awslambda`, an `archive`, ...) are built by their own
package rules; `files`/`resources` dependencies are zipped here, one deterministic zip per
generating target (Pants' `archive` zip is not reproducible).
"""

from __future__ import annotations

import io
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import PurePath

from pants.core.goals.package import (
    BuiltPackage,
    EnvironmentAwarePackageRequest,
    PackageFieldSet,
)
from pants.core.target_types import FileSourceField, ResourceSourceField
from pants.core.util_rules.source_files import SourceFiles, SourceFilesRequest
from pants.engine.addresses import Address
from pants.engine.fs import (
    CreateDigest,
    Digest,
    DigestContents,
    DigestEntries,
    FileContent,
    FileEntry,
)
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import (
    DependenciesRequest,
    FieldSetsPerTarget,
    FieldSetsPerTargetRequest,
    Targets,
)
from pants.util.logging import LogLevel

from jiti.errors import JitiError
from jiti.target_types import CloudFormationStackDependenciesField
from jiti_contract import Asset


@dataclass(frozen=True)
class StackAssetsRequest:
    address: Address
    dependencies: CloudFormationStackDependenciesField
    base: str  # the stack's artifacts path, without extension (see SynthesizedStack)

    def debug_hint(self) -> str:
        return str(self.address)


@dataclass(frozen=True)
class StackAssets:
    assets: tuple[Asset, ...]  # sorted by address
    digest: Digest  # a copy of each asset under `<base>.assets/`


@dataclass(frozen=True)
class _AssetFile:
    """One dependency's single output file."""

    address: str
    entry: FileEntry


def asset_key(sha256: str, filename: str) -> str:
    return f"assets/{sha256}{''.join(PurePath(filename).suffixes)}"


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


def _only_file(entries: DigestEntries) -> FileEntry | None:
    files = [e for e in entries if isinstance(e, FileEntry)]
    return files[0] if len(files) == 1 else None


async def _packaged_files(stack: Address, deps: Targets) -> list[_AssetFile]:
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
        built = await MultiGet(
            Get(BuiltPackage, EnvironmentAwarePackageRequest(field_set))
            for _, field_set in packageable
        )
    except Exception as e:
        names = ", ".join(str(tgt.address) for tgt, _ in packageable)
        raise JitiError(
            f"{stack}: a packaged dependency (field `dependencies`: {names}) could not "
            f"be built: {e}"
        ) from e
    entries = await MultiGet(Get(DigestEntries, Digest, pkg.digest) for pkg in built)
    result = []
    for (tgt, _), package_entries in zip(packageable, entries):
        entry = _only_file(package_entries)
        if entry is None:
            count = sum(isinstance(e, FileEntry) for e in package_entries)
            raise JitiError(
                f"{stack}: dependency {tgt.address} (field `dependencies`) packages "
                f"{count} files; an asset must be exactly one file"
            )
        result.append(_AssetFile(str(tgt.address), entry))
    return result


async def _zipped_file_groups(deps: Targets) -> list[_AssetFile]:
    """`files`/`resources` dependencies, one zip per generating target, with paths relative
    to that target's directory (e.g. a static site's content)."""
    groups: dict[Address, list] = defaultdict(list)
    for tgt in deps:
        for field_type in (FileSourceField, ResourceSourceField):
            if tgt.has_field(field_type):
                groups[tgt.address.maybe_convert_to_target_generator()].append(tgt[field_type])
    ordered = sorted(groups)
    sources = await MultiGet(
        Get(SourceFiles, SourceFilesRequest(groups[address])) for address in ordered
    )
    contents = await MultiGet(Get(DigestContents, Digest, s.snapshot.digest) for s in sources)
    zips = []
    for address, group in zip(ordered, contents):
        prefix = f"{address.spec_path}/" if address.spec_path else ""
        data = deterministic_zip({fc.path[len(prefix) :]: fc.content for fc in group})
        zips.append(CreateDigest([FileContent("bundle.zip", data)]))
    digests = await MultiGet(Get(Digest, CreateDigest, z) for z in zips)
    entries = await MultiGet(Get(DigestEntries, Digest, d) for d in digests)
    return [_AssetFile(str(a), _only_file(e)) for a, e in zip(ordered, entries)]


@rule(desc="Collect a CloudFormation stack's assets", level=LogLevel.DEBUG)
async def stack_assets(request: StackAssetsRequest) -> StackAssets:
    deps = await Get(Targets, DependenciesRequest(request.dependencies))
    files = [
        *(await _packaged_files(request.address, deps)),
        *(await _zipped_file_groups(deps)),
    ]
    base = PurePath(request.base)
    assets, copies = [], []
    for file in files:
        sha = file.entry.file_digest.fingerprint
        key = asset_key(sha, file.entry.path)
        relpath = f"{base.name}.assets/{PurePath(key).name}"
        size = file.entry.file_digest.serialized_bytes_length
        assets.append(Asset(address=file.address, sha256=sha, size=size, key=key, file=relpath))
        copies.append(FileEntry(str(base.parent / relpath), file.entry.file_digest))
    digest = await Get(Digest, CreateDigest(copies))
    return StackAssets(tuple(sorted(assets, key=lambda a: a.address)), digest)


def rules():
    return collect_rules()
