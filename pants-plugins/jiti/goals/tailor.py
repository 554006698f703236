"""`pants tailor` adds the `cloudformation_stack` targets an app is missing.

Two kinds of files make a stack: an `infra.py` that defines `template(app)`, and a plain
`*.template.yaml|yml|json`. Either gets a stack when it is not yet any stack's `source`. That,
not ownership, is the test: `infra.py` also belongs to its `python_sources`, and a template may
belong to a `files` target too (for tests, say), so the stack shares the file rather than
claims it (claiming it would make `tailor` restrict the stack to a `sources` field it does not
have).
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass

from pants.core.goals.tailor import PutativeTarget, PutativeTargets, PutativeTargetsRequest
from pants.engine.addresses import Addresses
from pants.engine.fs import DigestContents, PathGlobs, Paths
from pants.engine.internals.graph import Owners, OwnersRequest
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import UnexpandedTargets
from pants.engine.unions import UnionRule
from pants.util.logging import LogLevel

from jiti.subsystem import JitiSubsystem
from jiti.target_types import CloudFormationStackSourceField, CloudFormationStackTarget

INFRA_MODULE = "infra.py"
TEMPLATE_SUFFIXES = (".template.yaml", ".template.yml", ".template.json")


@dataclass(frozen=True)
class PutativeCloudFormationStackTargetsRequest(PutativeTargetsRequest):
    pass


def defines_template_function(source: bytes) -> bool:
    """Whether a module defines `template(app)` at its top level, as jiti's synthesis calls it."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return False
    return any(
        isinstance(node, ast.FunctionDef)
        and node.name == "template"
        and len(node.args.posonlyargs) + len(node.args.args) >= 1
        for node in tree.body
    )


def putative_stack(path: str) -> PutativeTarget:
    """`stack` for an infra module, `<name>` for `<name>.template.yaml`; the file is shared, not
    claimed (no owned sources, see above)."""
    directory, filename = os.path.split(path)
    name = next((filename[: -len(s)] for s in TEMPLATE_SUFFIXES if filename.endswith(s)), "stack")
    return PutativeTarget(
        directory,
        name,
        CloudFormationStackTarget.alias,
        triggering_sources=(filename,),
        owned_sources=(),
        kwargs={"source": filename},
    )


async def _stack_sources(paths: tuple[str, ...]) -> set[str]:
    """Which of `paths` are already the `source` of a `cloudformation_stack`."""
    if not paths:
        return set()
    owners = await Get(Owners, OwnersRequest(paths))
    targets = await Get(UnexpandedTargets, Addresses(owners))
    return {
        tgt[CloudFormationStackSourceField].file_path
        for tgt in targets
        if tgt.has_field(CloudFormationStackSourceField)
    }


@rule(desc="Determine candidate CloudFormation stack targets to create", level=LogLevel.DEBUG)
async def find_putative_stacks(
    request: PutativeCloudFormationStackTargetsRequest, jiti: JitiSubsystem
) -> PutativeTargets:
    if not jiti.tailor_stacks:
        return PutativeTargets()

    infra_modules, template_files = await MultiGet(
        Get(DigestContents, PathGlobs, request.path_globs(INFRA_MODULE)),
        Get(Paths, PathGlobs, request.path_globs(*(f"*{s}" for s in TEMPLATE_SUFFIXES))),
    )
    candidates = tuple(
        sorted(
            [
                *(fc.path for fc in infra_modules if defines_template_function(fc.content)),
                *template_files.files,
            ]
        )
    )
    stacked = await _stack_sources(candidates)
    return PutativeTargets(putative_stack(path) for path in candidates if path not in stacked)


def rules():
    return [
        *collect_rules(),
        UnionRule(PutativeTargetsRequest, PutativeCloudFormationStackTargetsRequest),
    ]
