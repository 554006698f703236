"""The synthesized templates of the stacks a linter checks.

The linters reuse the synthesis rule `pants package` uses, so a template is synthesized once
per change and shared by both goals. A stack whose synthesis fails with a user error is
reported as a lint finding, so the other stacks are still checked.
"""

from __future__ import annotations

from dataclasses import dataclass

from pants.engine.addresses import Address
from pants.engine.fs import Digest, DigestSubset, MergeDigests, PathGlobs
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from jiti.errors import JitiError
from jiti.util_rules.synthesis import SynthesizedStack, SynthesizeStackRequest


@dataclass(frozen=True)
class StackTemplatesRequest:
    addresses: tuple[Address, ...]


@dataclass(frozen=True)
class StackTemplates:
    """Only the `<base>.template.json` files (paths as under `dist/`), and which stack each is
    from; `errors` holds one line per stack that could not be synthesized."""

    digest: Digest
    owners: FrozenDict[str, Address]
    errors: tuple[str, ...]

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(sorted(self.owners))


@dataclass(frozen=True)
class _TemplateRequest:
    address: Address


@dataclass(frozen=True)
class _Template:
    path: str | None
    digest: Digest | None
    error: str | None


@rule(desc="Synthesize a template to lint", level=LogLevel.DEBUG)
async def synthesized_template(request: _TemplateRequest) -> _Template:
    try:
        stack = await Get(SynthesizedStack, SynthesizeStackRequest(request.address))
    except JitiError as e:
        return _Template(path=None, digest=None, error=str(e))
    digest = await Get(Digest, DigestSubset(stack.digest, PathGlobs([stack.template_path])))
    return _Template(path=stack.template_path, digest=digest, error=None)


@rule(desc="Synthesize the templates to lint", level=LogLevel.DEBUG)
async def stack_templates(request: StackTemplatesRequest) -> StackTemplates:
    templates = await MultiGet(
        Get(_Template, _TemplateRequest(address)) for address in request.addresses
    )
    digest = await Get(Digest, MergeDigests(t.digest for t in templates if t.digest))
    return StackTemplates(
        digest=digest,
        owners=FrozenDict(
            {t.path: address for address, t in zip(request.addresses, templates) if t.path}
        ),
        errors=tuple(t.error for t in templates if t.error),
    )


def rules():
    return collect_rules()
