"""Every `cloudformation_stack` has its own app name: two stacks sharing one would deploy over
each other's resources."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from pants.engine.addresses import Address
from pants.engine.rules import collect_rules, rule
from pants.engine.target import AllTargets
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from jiti.errors import JitiError
from jiti.target_types import CloudFormationStackSourceField, StackAppField


@dataclass(frozen=True)
class StackAppNames:
    """Every stack target's app name, with the targets that use it."""

    owners: FrozenDict[str, tuple[Address, ...]]


@rule(desc="Collect the app names of CloudFormation stacks", level=LogLevel.DEBUG)
async def collect_stack_app_names(all_targets: AllTargets) -> StackAppNames:
    owners: dict[str, list[Address]] = defaultdict(list)
    for tgt in all_targets:
        if tgt.has_field(CloudFormationStackSourceField):
            owners[tgt[StackAppField].value_or_default()].append(tgt.address)
    return StackAppNames(FrozenDict({name: tuple(sorted(a)) for name, a in owners.items()}))


@dataclass(frozen=True)
class UniqueAppNameRequest:
    address: Address
    app: str

    def debug_hint(self) -> str:
        return str(self.address)


@dataclass(frozen=True)
class UniqueAppName:
    app: str


@rule(desc="Check that a CloudFormation stack's app name is its own", level=LogLevel.DEBUG)
async def check_unique_app_name(
    request: UniqueAppNameRequest, names: StackAppNames
) -> UniqueAppName:
    users = names.owners.get(request.app, ())
    if len(users) > 1:
        raise JitiError(
            f"{request.address}: field `app`: the app name {request.app!r} is used by "
            f"{', '.join(map(str, users))}; give each stack its own `app`"
        )
    return UniqueAppName(request.app)


def rules():
    return collect_rules()
