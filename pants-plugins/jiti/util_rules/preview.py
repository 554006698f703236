"""A preview environment (`--jiti-preview=<name>`): the selected deployments of the base
environment (`[jiti].preview_base`), each deployed as its copy named for the preview.

This is the one place a deployment becomes its preview copy: its environment is the preview's,
and so are its stack name, the `{env}` of its parameters, its `Environment` parameter and its
`jiti:env` tag; its account, region, role and everything else are the base deployment's. An
input whose producer is copied too takes the copy's outputs; any other, the base's (`places`).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Iterable

from pants.engine.addresses import Address
from pants.engine.rules import collect_rules, rule
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from jiti.errors import JitiError
from jiti.subsystem import JitiSubsystem
from jiti.target_types import DeploymentEnvironmentField, DeploymentTerminationProtectionField
from jiti.util_rules.inventory import AllStackPlaces
from jiti_contract import PreviewSettings, StackPlace, fill_placeholders

# Stack names take it in `{env}`: short, so that `<app>-<preview>` stays readable and fits.
PREVIEW_NAME = re.compile(r"[a-z]([a-z0-9-]{0,18}[a-z0-9])?")


@dataclass(frozen=True)
class Preview:
    name: str
    base: str
    ttl_hours: int
    members: tuple[Address, ...]  # the deployments copied into the preview

    @property
    def settings(self) -> PreviewSettings:
        return PreviewSettings(self.name, self.base, self.ttl_hours)

    def copy(self, field_set):
        """The deployment's field set as its copy in the preview, which `destroy-stacks` and
        `prune-stacks --jiti-prune-expired` must be able to delete: no termination protection."""
        address = field_set.address
        return dataclasses.replace(
            field_set,
            environment=DeploymentEnvironmentField(self.name, address),
            termination_protection=DeploymentTerminationProtectionField(False, address),
        )

    def places(self, all_places: AllStackPlaces) -> dict[Address, StackPlace]:
        """Every deployment's place, the members' moved to their copies' stacks; refused when a
        copy would be the base stack itself or another deployment's stack."""
        places = dict(all_places.places)
        taken = {_where(p): a for a, p in places.items()}
        names = dict(all_places.names)
        for address in self.members:
            template, app = names[address]
            if "{env}" not in template:
                raise JitiError(
                    f"{address}: field `stack_name`: {template!r} has no `{{env}}`, so its copy "
                    f"in the preview {self.name!r} would be the {self.base} stack itself: add "
                    "`{env}` to it"
                )
            copy = dataclasses.replace(
                places[address],
                stack_name=fill_placeholders(template, {"app": app, "env": self.name}),
            )
            if _where(copy) in taken:
                raise JitiError(
                    f"{address}: its copy in the preview {self.name!r}, {copy.stack_name}, is the "
                    f"stack of {taken[_where(copy)]}: name the preview otherwise"
                )
            places[address] = copy
        return places


@dataclass(frozen=True)
class PreviewPlaces:
    """`Preview.places`, computed once per preview rather than once per deployment."""

    places: FrozenDict[Address, StackPlace]


@rule(desc="Place a preview's copies", level=LogLevel.DEBUG)
async def preview_places(preview: Preview, all_places: AllStackPlaces) -> PreviewPlaces:
    return PreviewPlaces(FrozenDict(preview.places(all_places)))


def _where(place: StackPlace) -> tuple:
    return (place.account or "", place.region or "", place.stack_name)


def preview_of(jiti: JitiSubsystem, field_sets: Iterable) -> tuple[Preview | None, list, list]:
    """The preview `[jiti].preview` names, the field sets it copies and the addresses it leaves
    out (not in the base environment); (None, all, []) without one."""
    field_sets = list(field_sets)
    if jiti.preview is None:
        return None, field_sets, []
    name, base = jiti.preview, jiti.preview_base
    check_name(name, base, jiti.protected_environments)
    kept = [fs for fs in field_sets if fs.environment.value == base]
    left_out = [fs.address for fs in field_sets if fs.environment.value != base]
    for fs in kept:
        if fs.stack_set_accounts.value:
            raise JitiError(
                f"{fs.address}: field `stack_set_accounts`: a StackSet is not copied into a "
                f"preview (--jiti-preview={name}); previews copy plain stacks only"
            )
    members = tuple(sorted(fs.address for fs in kept))
    return Preview(name, base, jiti.preview_ttl_hours, members), kept, left_out


def check_name(name: str, base: str, protected: Iterable[str]) -> None:
    """A name stack names can take, never a protected environment's, nor a copy of one."""
    if not PREVIEW_NAME.fullmatch(name):
        raise JitiError(
            f"[jiti].preview (--jiti-preview): {name!r} is not a preview name: 1 to 20 "
            "lowercase letters, digits and hyphens, starting with a letter and not ending with a "
            "hyphen (e.g. `pr-123`)"
        )
    if name in protected or name == base:
        what = "a protected environment ([jiti].protected_environments)"
        raise JitiError(
            f"[jiti].preview (--jiti-preview): {name!r} is "
            f"{what if name in protected else 'the base environment ([jiti].preview_base)'}: "
            "a preview never deploys as one"
        )
    if base in protected:
        raise JitiError(
            f"[jiti].preview_base: {base!r} is a protected environment "
            "([jiti].protected_environments): a preview never copies one"
        )


def left_out_line(preview: Preview, left_out: list[Address]) -> str:
    shown = ", ".join(map(str, left_out[:5])) + (" ..." if len(left_out) > 5 else "")
    return (
        f"preview {preview.name}: left out {len(left_out)} selected deployment"
        f"{'' if len(left_out) == 1 else 's'} not in the {preview.base} environment: {shown}"
    )


def rules():
    return collect_rules()
