"""Where every `cloudformation_deployment`'s stack lives, known from the BUILD files alone (no
stack is built), and the repository's id: what `prune-stacks` compares with what is live, and
what `drift-stacks` checks."""

from __future__ import annotations

import os
from dataclasses import dataclass

from pants.base.build_root import BuildRoot
from pants.engine.addresses import Address, Addresses, UnparsedAddressInputs
from pants.engine.fs import CreateDigest, Digest, FileContent
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import AllTargets
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


@dataclass(frozen=True)
class RepositoryName:
    """`[jiti].repository`, or the build root's directory name."""

    name: str


@rule(desc="Name the repository", level=LogLevel.DEBUG)
async def repository_name(jiti: JitiSubsystem, build_root: BuildRoot) -> RepositoryName:
    name = jiti.repository or os.path.basename(build_root.path)
    if not name or len(name) > 256:
        raise JitiError(f"[jiti].repository: {name!r} is not a tag value (1 to 256 characters)")
    return RepositoryName(name)


@dataclass(frozen=True)
class AllStackPlaces:
    """Every deployment in the repository and where its stack lives, by address."""

    places: tuple[tuple[Address, StackPlace], ...]

    def of(self, addresses) -> tuple[StackPlace, ...]:
        wanted = set(addresses)
        return tuple(place for address, place in self.places if address in wanted)


@rule(desc="Find where every CloudFormation deployment's stack lives", level=LogLevel.DEBUG)
async def all_stack_places(all_targets: AllTargets) -> AllStackPlaces:
    by_address = {tgt.address: tgt for tgt in all_targets}
    deployments = [tgt for tgt in all_targets if tgt.has_field(DeploymentStackField)]
    stacks = await MultiGet(
        Get(Addresses, UnparsedAddressInputs, stack_address_input(tgt[DeploymentStackField]))
        for tgt in deployments
    )
    places = []
    for tgt, stack in zip(deployments, stacks):
        stack_target = by_address.get(stack[0]) if stack else None
        if stack_target is None or not stack_target.has_field(StackAppField):
            continue  # reported by the deployment itself
        name = fill_placeholders(
            tgt[DeploymentStackNameField].value,
            {
                "app": stack_target[StackAppField].value_or_default(),
                "env": tgt[DeploymentEnvironmentField].value,
            },
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
    return AllStackPlaces(tuple(sorted(places)))


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
