"""Where every `cloudformation_deployment`'s stack lives, known from the BUILD files alone (no
stack is built), and the repository's id: what `prune-stacks` compares with what is live, and
what `drift-stacks` checks."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import urllib.parse
from dataclasses import dataclass
from functools import cached_property

from pants.base.build_root import BuildRoot
from pants.engine.addresses import Address, Addresses, AddressInput, UnparsedAddressInputs
from pants.engine.fs import CreateDigest, Digest, FileContent
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import AllTargets, Target
from pants.util.logging import LogLevel

from jiti.dependency_inference import stack_address_input
from jiti.errors import JitiError
from jiti.subsystem import JitiSubsystem
from jiti.target_types import (
    DeploymentAccountField,
    DeploymentAssumeRoleField,
    DeploymentEnvironmentField,
    DeploymentRegionField,
    DeploymentStackField,
    DeploymentStackNameField,
    DeploymentStackSetAccountsField,
    StackAppField,
)
from jiti_contract import Inventory, StackPlace, fill_placeholders, to_json

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RepositoryName:
    """This repository's id (`jiti:repository` on its stacks): `[jiti].repository`, else one
    derived from the git remote `origin`, else None. Never the build root's directory name:
    two checkouts called `src` would own each other's stacks."""

    name: str | None

    def required(self, goal: str) -> str:
        """The id, for a goal that deletes what carries it; refused without one."""
        if self.name is None:
            raise JitiError(
                f"{goal}: this repository has no id to tell its stacks from other "
                "repositories' (no `[jiti].repository` and no git remote `origin`): set "
                '`repository = "<id>"` under `[jiti]` in pants.toml, the same for every clone '
                "(e.g. `github.com/org/repo`)"
            )
        return self.name


# CloudFormation's tag values: letters, digits, spaces and `_ . : / = + - @`, up to 256.
_TAG_VALUE = re.compile(r"[\w .:/=+\-@]{1,256}")


def repository_from_remote(url: str) -> str | None:
    """`host/path` of a git remote URL (scp-like or with a scheme), without user, password,
    port or `.git`; None for a path on this machine, which is not unique."""
    url = url.strip()
    if "://" in url:
        parts = urllib.parse.urlsplit(url)
        host, path = (parts.hostname, parts.path) if parts.scheme != "file" else (None, "")
    else:
        scp = re.fullmatch(r"(?:[^@/]+@)?([^:/]+):(.+)", url)
        host, path = scp.groups() if scp else (None, "")
    path = path.strip("/")
    path = path[: -len(".git")] if path.endswith(".git") else path
    return f"{host.lower()}/{path}" if host and path else None


def repository_from_git(build_root: str) -> str | None:
    """The id the git remote `origin` gives the build root (its place in the work tree added
    when it is not the top), or None."""

    def git(*args: str) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        try:
            done = subprocess.run(
                ["git", *args], cwd=build_root, env=env, capture_output=True, text=True
            )
        except OSError:  # no git
            return ""
        return done.stdout.strip() if done.returncode == 0 else ""

    remote = repository_from_remote(git("config", "--get", "remote.origin.url"))
    prefix = git("rev-parse", "--show-prefix").strip("/")
    return f"{remote}/{prefix}" if remote and prefix else remote


@rule(desc="Name the repository", level=LogLevel.DEBUG)
async def repository_name(jiti: JitiSubsystem, build_root: BuildRoot) -> RepositoryName:
    if jiti.repository is not None:
        if not _TAG_VALUE.fullmatch(jiti.repository):
            raise JitiError(
                f"[jiti].repository: {jiti.repository!r} is not a tag value (1 to 256 letters, "
                "digits, spaces and `_ . : / = + - @`)"
            )
        return RepositoryName(jiti.repository)
    derived = repository_from_git(build_root.path)
    if derived is None or not _TAG_VALUE.fullmatch(derived):
        logger.warning(
            "jiti: this repository has no id (no `[jiti].repository`, no usable git remote "
            "`origin`): its stacks are deployed without the `jiti:repository` tag, and "
            "prune-stacks refuses to run; set `repository` under `[jiti]` in pants.toml"
        )
        return RepositoryName(None)
    return RepositoryName(derived)


@dataclass(frozen=True)
class AllStackPlaces:
    """Every deployment in the repository and where its stack lives, by address."""

    places: tuple[tuple[Address, StackPlace], ...]
    # Deployments whose place is unknown (their `stack` is not a cloudformation_stack): each
    # deploy reports its own; a goal that needs them all refuses to run (`complete`).
    unknown: tuple[str, ...] = ()
    # Each deployment's `stack_name` field and app, by address: how its stack is named in
    # another environment (a preview's copy, `preview.py`).
    names: tuple[tuple[Address, tuple[str, str]], ...] = ()

    @cached_property
    def by_address(self) -> dict[Address, StackPlace]:
        """The places by address, built once per run (the engine computes this object once):
        each deployment looks up the few it needs, never the whole list."""
        return dict(self.places)

    def of(self, addresses) -> tuple[StackPlace, ...]:
        wanted = set(addresses)
        return tuple(place for address, place in self.places if address in wanted)

    def complete(self, goal: str) -> None:
        """Refuse when a deployment's place is unknown: left out, its live stack would look no
        longer deployed."""
        if self.unknown:
            raise JitiError(f"{goal}: {self.unknown[0]}")


@rule(desc="Find where every CloudFormation deployment's stack lives", level=LogLevel.DEBUG)
async def all_stack_places(all_targets: AllTargets) -> AllStackPlaces:
    by_address = {tgt.address: tgt for tgt in all_targets}
    deployments = [tgt for tgt in all_targets if tgt.has_field(DeploymentStackField)]
    known = [_known_stack(tgt, by_address) for tgt in deployments]
    looked_up = iter(
        await MultiGet(
            Get(Addresses, UnparsedAddressInputs, stack_address_input(tgt[DeploymentStackField]))
            for tgt, stack in zip(deployments, known)
            if stack is None
        )
    )
    stacks = [(stack,) if stack else next(looked_up) for stack in known]
    places, unknown, names = [], [], []
    for tgt, stack in zip(deployments, stacks):
        stack_target = by_address.get(stack[0]) if stack else None
        if stack_target is None or not stack_target.has_field(StackAppField):
            unknown.append(
                f"{tgt.address}: field `stack`: {stack[0] if stack else '(empty)'} is not a "
                "`cloudformation_stack`"
            )
            continue
        template, app = (
            tgt[DeploymentStackNameField].value,
            stack_target[StackAppField].value_or_default(),
        )
        name = fill_placeholders(
            template, {"app": app, "env": tgt[DeploymentEnvironmentField].value}
        )
        place = StackPlace(
            address=str(tgt.address),
            stack_name=name,
            account=tgt[DeploymentAccountField].value,
            region=tgt[DeploymentRegionField].value,
            assume_role=tgt[DeploymentAssumeRoleField].value,
            stack_set=bool(tgt[DeploymentStackSetAccountsField].value),
        )
        places.append((tgt.address, place))
        names.append((tgt.address, (template, app)))
    return AllStackPlaces(tuple(sorted(places)), tuple(sorted(unknown)), tuple(sorted(names)))


def _known_stack(deployment: Target, by_address: dict[Address, Target]) -> Address | None:
    """The `stack` field's target when it names one in a BUILD file by directory and name
    (`:stack`, `apps/x:stack`), found in the targets at hand; None for the engine to resolve
    (a file address, or a target that is not there, whose error the engine words). Resolving
    each deployment's through the engine costs a file-system lookup per deployment."""
    field = deployment[DeploymentStackField]
    try:
        parsed = AddressInput.parse(
            field.value,
            relative_to=deployment.address.spec_path,
            description_of_origin=f"the `stack` field of {deployment.address}",
        )
    except Exception:  # noqa: BLE001 - the engine reports it
        return None
    if parsed.target_component is None:
        return None
    address = parsed.dir_to_address()
    return address if address in by_address else None


@dataclass(frozen=True)
class InventoryRequest:
    places: tuple[StackPlace, ...]


@dataclass(frozen=True)
class InventoryFile:
    digest: Digest
    path: str


@rule(desc="Write the inventory of CloudFormation stacks", level=LogLevel.DEBUG)
async def inventory_file(request: InventoryRequest, repository: RepositoryName) -> InventoryFile:
    inventory = Inventory(repository.name, request.places)
    digest = await Get(
        Digest, CreateDigest([FileContent(Inventory.FILE, to_json(inventory).encode())])
    )
    return InventoryFile(digest, Inventory.FILE)


def rules():
    return collect_rules()
