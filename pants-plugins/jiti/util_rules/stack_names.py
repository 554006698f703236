"""A stack belongs to one deployment: two `cloudformation_deployment`s that would deploy the same
stack name to the same account and region would overwrite each other, so neither may run."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from pants.engine.addresses import Address
from pants.engine.rules import collect_rules, rule
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from jiti.errors import JitiError
from jiti.util_rules.inventory import AllStackPlaces

# (account, region, stack name); an unset account or region is the caller's own, so two unset
# ones are the same place.
Place = tuple


@dataclass(frozen=True)
class DeployedStackNames:
    """Every deployment's stack, by where it goes."""

    owners: FrozenDict[Place, tuple[Address, ...]]


@rule(desc="Collect the stacks of CloudFormation deployments", level=LogLevel.DEBUG)
async def collect_deployed_stack_names(all_places: AllStackPlaces) -> DeployedStackNames:
    owners: dict[Place, list[Address]] = defaultdict(list)
    for address, place in all_places.places:
        owners[(place.account or "", place.region or "", place.stack_name)].append(address)
    return DeployedStackNames(FrozenDict({p: tuple(sorted(a)) for p, a in owners.items()}))


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
