"""A stack belongs to one deployment: two `cloudformation_deployment`s that would deploy the same
stack name to the same account and region would overwrite each other, so neither may run."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from pants.engine.addresses import Address, Addresses, UnparsedAddressInputs
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import AllTargets
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from jiti.dependency_inference import stack_address_input
from jiti.errors import JitiError
from jiti.target_types import (
    DeploymentAccountField,
    DeploymentEnvironmentField,
    DeploymentRegionField,
    DeploymentStackField,
    DeploymentStackNameField,
    StackAppField,
)
from jiti_contract import fill_placeholders

# (account, region, stack name); an unset account or region is the caller's own, so two unset
# ones are the same place.
Place = tuple


@dataclass(frozen=True)
class DeployedStackNames:
    """Every deployment's stack, by where it goes, and by deployment."""

    owners: FrozenDict[Place, tuple[Address, ...]]
    names: FrozenDict[Address, str]


@rule(desc="Collect the stacks of CloudFormation deployments", level=LogLevel.DEBUG)
async def collect_deployed_stack_names(all_targets: AllTargets) -> DeployedStackNames:
    by_address = {tgt.address: tgt for tgt in all_targets}
    deployments = [tgt for tgt in all_targets if tgt.has_field(DeploymentStackField)]
    stacks = await MultiGet(
        Get(Addresses, UnparsedAddressInputs, stack_address_input(tgt[DeploymentStackField]))
        for tgt in deployments
    )
    owners: dict[Place, list[Address]] = defaultdict(list)
    names: dict[Address, str] = {}
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
        place = (
            tgt[DeploymentAccountField].value or "",
            tgt[DeploymentRegionField].value or "",
            name,
        )
        owners[place].append(tgt.address)
        names[tgt.address] = name
    return DeployedStackNames(
        FrozenDict({p: tuple(sorted(a)) for p, a in owners.items()}), FrozenDict(names)
    )


@dataclass(frozen=True)
class UniqueStackNameRequest:
    address: Address
    account: str | None
    region: str | None
    stack_name: str


@dataclass(frozen=True)
class UniqueStackName:
    stack_name: str


@rule(desc="Check that a deployment's stack is its own", level=LogLevel.DEBUG)
async def check_unique_stack_name(
    request: UniqueStackNameRequest, names: DeployedStackNames
) -> UniqueStackName:
    place = (request.account or "", request.region or "", request.stack_name)
    owners = names.owners.get(place, ())
    if len(owners) > 1:
        where = (
            "/".join(filter(None, (request.account, request.region)))
            or "the same account and region"
        )
        raise JitiError(
            f"{request.address}: field `stack_name`: the stack {request.stack_name!r} in {where} "
            f"is deployed by {', '.join(map(str, owners))}; give each its own `stack_name`, "
            "`account` or `region`"
        )
    return UniqueStackName(request.stack_name)


def rules():
    return collect_rules()
