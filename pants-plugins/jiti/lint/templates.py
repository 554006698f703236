"""The synthesized templates of the stacks a linter checks.

The linters reuse the synthesis rule `pants package` uses, so a template is synthesized once
per change and shared by both goals. A stack whose synthesis fails with a user error is
reported as a lint finding, so the other stacks are still checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

from pants.backend.python.util_rules.pex import PexRequest, VenvPex, VenvPexProcess
from pants.core.goals.lint import LintResult
from pants.core.util_rules.config_files import ConfigFiles, ConfigFilesRequest
from pants.engine.addresses import Address
from pants.engine.fs import Digest, DigestSubset, MergeDigests, PathGlobs
from pants.engine.process import FallibleProcessResult
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel
from pants.util.strutil import pluralize

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


async def lint_templates(
    addresses: tuple[Address, ...],
    *,
    tool_name: str,
    tool: PexRequest,
    config: ConfigFilesRequest,
    argv: Callable[[tuple[str, ...]], tuple[str, ...]],
    env: Mapping[str, str],
    render: Callable[[bytes, Mapping[str, Address]], str | None],
) -> LintResult:
    """Run a linter once on the templates of these stacks: `argv(paths)` its arguments, `env`
    more environment (`HOME` is the sandbox, so only the sandbox's configuration counts), and
    `render(stdout, owners)` its JSON output as lines led by each stack's address (None: not
    JSON, shown as it is). A stack that cannot be synthesized is a finding of its own."""
    stacks, pex, config_files = await MultiGet(
        Get(StackTemplates, StackTemplatesRequest(addresses)),
        Get(VenvPex, PexRequest, tool),
        Get(ConfigFiles, ConfigFilesRequest, config),
    )
    errors = "".join(f"{error}\n" for error in stacks.errors)
    if not stacks.paths:
        return LintResult(1 if errors else 0, errors, "", tool_name)

    input_digest = await Get(Digest, MergeDigests([stacks.digest, config_files.snapshot.digest]))
    result = await Get(
        FallibleProcessResult,
        VenvPexProcess(
            pex,
            argv=argv(stacks.paths),
            input_digest=input_digest,
            extra_env={**env, "HOME": "{chroot}"},
            description=(
                f"Run {tool_name} on {pluralize(len(stacks.paths), 'CloudFormation template')}"
            ),
            level=LogLevel.DEBUG,
        ),
    )
    rendered = render(result.stdout, stacks.owners)
    stdout = errors + (result.stdout.decode(errors="replace") if rendered is None else rendered)
    exit_code = result.exit_code or (1 if errors else 0)
    return LintResult(exit_code, stdout, result.stderr.decode(errors="replace"), tool_name)


def rules():
    return collect_rules()
