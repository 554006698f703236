"""Stack synthesis: a `cloudformation_stack` target -> template, manifest and assets.

Shared by the `package`, deploy and lint rules through a plain request type, so all of them
get the same cached result. Synthesis runs `jiti_infra.synth_main` in a sandboxed venv that
holds only third-party requirements, with the stack's Python sources beside it on
`PEX_EXTRA_SYS_PATH` (as Pants runs pytest): stacks with the same requirements share one
environment, so a stack costs one process, not a pex build and a venv each.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import PurePath
from typing import Any

from pants.backend.python.target_types import EntryPoint, PythonSourceField
from pants.backend.python.util_rules.pex import PexRequest, VenvPex, VenvPexProcess
from pants.backend.python.util_rules.pex_from_targets import PexFromTargetsRequest
from pants.backend.python.util_rules.python_sources import (
    PythonSourceFiles,
    PythonSourceFilesRequest,
)
from pants.core.util_rules.source_files import SourceFiles, SourceFilesRequest
from pants.core.util_rules.stripped_source_files import (
    StrippedFileName,
    StrippedFileNameRequest,
)
from pants.engine.addresses import Address
from pants.engine.fs import CreateDigest, Digest, DigestContents, FileContent, MergeDigests
from pants.engine.process import FallibleProcessResult, Process
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import (
    DependenciesRequest,
    DescriptionField,
    Target,
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
    CloudFormationStackOutputPathField,
    CloudFormationStackSourceField,
    CloudFormationStackTagsField,
    StackAppField,
)
from jiti.util_rules.app_names import UniqueAppName, UniqueAppNameRequest
from jiti.util_rules.assets import StackAssets, StackAssetsRequest
from jiti.util_rules.placeholders import (
    FIRST,
    SECOND,
    filled_in,
    placeholder_assets,
    request_assets,
)
from jiti_contract import (
    EXIT_USER_ERROR,
    TEMPLATE_URL_LIMIT,
    Asset,
    Manifest,
    SynthesisRequest,
    canonical_json,
    retained_resources,
    to_json,
)
from jiti_version import JITI_PLUGIN_VERSION_ENV, JITI_VERSION


@dataclass(frozen=True)
class SynthesizeStackRequest:
    address: Address

    def debug_hint(self) -> str:
        return str(self.address)


@dataclass(frozen=True)
class SynthesizedStack:
    """The stack's artifacts, laid out as under `dist/`: `<base>.template.json`,
    `<base>.manifest.json` and `<base>.assets/`."""

    address: Address
    app: str
    version: str
    base: str
    digest: Digest
    assets: tuple[Asset, ...]
    parameters: FrozenDict[str, Any]  # the template's Parameters section
    retained: tuple[str, ...] = ()  # resources that outlive the stack (retained_resources)
    outputs: tuple[str, ...] = ()  # the names in the template's Outputs section

    @property
    def template_path(self) -> str:
        return f"{self.base}.template.json"

    @property
    def manifest_path(self) -> str:
        return f"{self.base}.manifest.json"

    @property
    def asset_paths(self) -> tuple[str, ...]:
        return tuple(str(PurePath(self.base).parent / a.file) for a in self.assets)


def stack_version(template: bytes, assets: tuple[Asset, ...]) -> str:
    """sha256 over the canonical template and every asset's content digest."""
    h = hashlib.sha256(template)
    for asset in sorted(assets, key=lambda a: a.address):
        h.update(f"\0{asset.address}\0{asset.sha256}".encode())
    return h.hexdigest()


def render_manifest(
    tgt: Target, app: str, base: str, template: bytes, assets: tuple[Asset, ...]
) -> Manifest:
    return Manifest(
        address=str(tgt.address),
        app=app,
        version=stack_version(template, assets),
        template=f"{PurePath(base).name}.template.json",
        template_sha256=hashlib.sha256(template).hexdigest(),
        assets=assets,
        parameters=json.loads(template).get("Parameters", {}),
        tags=dict(tgt[CloudFormationStackTagsField].value or {}),
        description=tgt[DescriptionField].value,
    )


# --- the synthesis process ------------------------------------------------------------------


@dataclass(frozen=True)
class SynthesisProcessRequest:
    address: Address
    source: CloudFormationStackSourceField
    python_roots: tuple[Address, ...]  # the stack's Python dependencies
    request_json: str  # a SynthesisRequest

    def debug_hint(self) -> str:
        return str(self.address)


@rule(desc="Set up a CloudFormation stack's synthesis", level=LogLevel.DEBUG)
async def synthesis_process(request: SynthesisProcessRequest) -> Process:
    pex_request, python_closure, source_files, request_digest = await MultiGet(
        Get(
            PexRequest,
            PexFromTargetsRequest(
                request.python_roots,
                output_filename="jiti-synth.pex",
                internal_only=True,
                include_source_files=False,
                main=EntryPoint(SYNTH_ENTRY_POINT),
                # No address: equal requests (same requirements) are built once.
                description="Build jiti's synthesis environment",
            ),
        ),
        Get(TransitiveTargets, TransitiveTargetsRequest(request.python_roots)),
        Get(SourceFiles, SourceFilesRequest([request.source])),
        Get(
            Digest,
            CreateDigest([FileContent(SynthesisRequest.FILE, request.request_json.encode())]),
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
    return await Get(
        Process,
        VenvPexProcess(
            synth_pex,
            argv=(SynthesisRequest.FILE, SynthesisRequest.OUTPUT),
            input_digest=input_digest,
            extra_env={
                "PEX_EXTRA_SYS_PATH": ":".join(python_sources.source_roots),
                JITI_PLUGIN_VERSION_ENV: JITI_VERSION,
            },
            output_files=(SynthesisRequest.OUTPUT, SynthesisRequest.ALTERNATE),
            description=f"Synthesize the CloudFormation template of {request.address}",
            level=LogLevel.DEBUG,
        ),
    )


def _python_roots(tgt: Target, deps: Targets) -> tuple[Address, ...]:
    """The stack's Python dependencies; a troposphere module must be one of them."""
    source = tgt[CloudFormationStackSourceField]
    python = [t for t in deps if t.has_field(PythonSourceField)]
    if source.is_troposphere and not any(
        t[PythonSourceField].file_path == source.file_path for t in python
    ):
        raise JitiError(
            f"{tgt.address}: field `source`: {source.file_path} is not owned by a `python_source` "
            f"target; add `python_sources()` to {tgt.address.spec_path or '.'}/BUILD so its "
            "imports are followed"
        )
    return tuple(t.address for t in python)


def _raise_for_failure(tgt: Target, result: FallibleProcessResult) -> None:
    if result.exit_code == 0:
        return
    stderr = result.stderr.decode(errors="replace").strip()
    if result.exit_code == EXIT_USER_ERROR:
        raise JitiError(f"{tgt.address}: field `source`: {stderr}")
    raise JitiError(
        f"{tgt.address}: synthesizing {tgt[CloudFormationStackSourceField].file_path} failed "
        f"(exit code {result.exit_code}):\n{stderr}"
    )


async def _synthesized(
    tgt: Target, python_roots: tuple[Address, ...], synthesis: SynthesisRequest
) -> tuple[bytes, ...]:
    """The synthesis process's templates: the first, and the alternate if it was asked for."""
    source = tgt[CloudFormationStackSourceField]
    process = await Get(
        Process, SynthesisProcessRequest(tgt.address, source, python_roots, to_json(synthesis))
    )
    result = await Get(FallibleProcessResult, Process, process)
    _raise_for_failure(tgt, result)
    written = {c.path: c.content for c in await Get(DigestContents, Digest, result.output_digest)}
    return tuple(
        written[p] for p in (SynthesisRequest.OUTPUT, SynthesisRequest.ALTERNATE) if p in written
    )


async def _template(
    tgt: Target,
    python_roots: tuple[Address, ...],
    synthesis: SynthesisRequest,
    assets: tuple[Asset, ...],
) -> bytes:
    """The stack's template: from the placeholder synthesis (cached while only the assets'
    bytes change) where the digests go in exactly, else synthesized with the real digests
    (util_rules/placeholders.py)."""
    if assets:
        placeholders = {which: placeholder_assets(assets, which) for which in (FIRST, SECOND)}
        both = replace(synthesis, assets=placeholders[FIRST], alternate_assets=placeholders[SECOND])
        first, second = await _synthesized(tgt, python_roots, both)
        template = filled_in(json.loads(first), json.loads(second), assets, placeholders)
        if template is not None:
            return canonical_json(template).encode()
    real = replace(synthesis, assets=request_assets(assets))
    (template,) = await _synthesized(tgt, python_roots, real)
    return template


# --- the stack ------------------------------------------------------------------------------


@rule(desc="Synthesize a CloudFormation stack", level=LogLevel.DEBUG)
async def synthesize_stack(request: SynthesizeStackRequest) -> SynthesizedStack:
    wrapped = await Get(
        WrappedTarget,
        WrappedTargetRequest(request.address, description_of_origin="the jiti plugin"),
    )
    tgt = wrapped.target
    source = tgt[CloudFormationStackSourceField]
    base = tgt[CloudFormationStackOutputPathField].value_or_default(file_ending=None)
    unique, deps, stripped = await MultiGet(
        Get(
            UniqueAppName, UniqueAppNameRequest(tgt.address, tgt[StackAppField].value_or_default())
        ),
        Get(Targets, DependenciesRequest(tgt[CloudFormationStackDependenciesField])),
        Get(StrippedFileName, StrippedFileNameRequest(source.file_path)),
    )
    assets = await Get(
        StackAssets,
        StackAssetsRequest(tgt.address, tgt[CloudFormationStackDependenciesField], base),
    )
    synthesis = SynthesisRequest(
        address=str(tgt.address),
        app=unique.app,
        source=source.file_path,
        module=module_name(stripped.value) if source.is_troposphere else None,
        description=tgt[DescriptionField].value,
    )
    template = await _template(tgt, _python_roots(tgt, deps), synthesis, assets.assets)
    if len(template) > TEMPLATE_URL_LIMIT:
        raise JitiError(
            f"{tgt.address}: the template is {len(template):,} bytes, and CloudFormation takes at "
            f"most {TEMPLATE_URL_LIMIT:,}: split the app's resources into more stacks"
        )

    manifest = render_manifest(tgt, unique.app, base, template, assets.assets)
    files = await Get(
        Digest,
        CreateDigest(
            [
                FileContent(f"{base}.template.json", template),
                FileContent(f"{base}.manifest.json", manifest.to_json().encode()),
            ]
        ),
    )
    digest = await Get(Digest, MergeDigests([files, assets.digest]))
    return SynthesizedStack(
        tgt.address,
        unique.app,
        manifest.version,
        base,
        digest,
        assets.assets,
        FrozenDict.deep_freeze(manifest.parameters),
        tuple(retained_resources(json.loads(template))),
        tuple(sorted(json.loads(template).get("Outputs", {}))),
    )


def rules():
    return collect_rules()
