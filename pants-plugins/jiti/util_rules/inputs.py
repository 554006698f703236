"""Deployments that share: the producer each `inputs` entry names, and each producer's consumers.

A reference names a deployment the way a dependency does. When that deployment is
parametrized and the reference leaves parameters out, the copy is the one whose fields for
those parameters equal the consumer's, as Pants fills in a parametrized dependency from its
dependent (`_fill_parameters` in `pants.engine.internals.graph`): a consumer in
`222222222222/eu-west-1` takes the producer copy in `222222222222/eu-west-1`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from pants.base.specs import AddressLiteralSpec, RawSpecs
from pants.engine.addresses import Address, AddressInput
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import (
    AllTargets,
    Target,
    Targets,
    WrappedTarget,
    WrappedTargetRequest,
)
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from jiti.errors import JitiError
from jiti.target_types import (
    DeploymentInputsField,
    DeploymentStackField,
    DeploymentStackSetAccountsField,
    OutputReference,
)


@dataclass(frozen=True)
class ProducerRequest:
    consumer: Address
    parameter: str
    reference: str  # the producer's address, as the consumer's BUILD file writes it

    def debug_hint(self) -> str:
        return f"{self.consumer} {self.parameter}"


@dataclass(frozen=True)
class Producer:
    """The deployment an input names, or why there is none (the caller decides whether that
    is an error: it is for the consumer, not for the deployments merely listing consumers)."""

    target: Target | None
    problem: str | None = None

    def get(self) -> Target:
        if self.target is None:
            raise JitiError(self.problem)
        return self.target


def _field(tgt: Target, alias: str):
    return next((f for t, f in tgt.field_values.items() if t.alias == alias), None)


def _value(tgt: Target, alias: str) -> str:
    field = _field(tgt, alias)
    return "unset" if field is None or field.value is None else str(field.value)


def _matches(consumer: Target, reference: Address, candidate: Target) -> bool:
    """Every parameter the reference leaves out has the consumer's value in the candidate."""
    left_out = set(candidate.address.parameters) - set(reference.parameters)
    return all(
        _field(consumer, key) is not None
        and _field(consumer, key).value == _field(candidate, key).value
        for key in left_out
    )


def choose_producer(consumer: Target, reference: Address, candidates: list[Target]) -> Target:
    """The copy the consumer means, among the candidates (every target at the reference's
    address, parametrized or not)."""
    matching = [c for c in candidates if _matches(consumer, reference, c)]
    if len(matching) == 1:
        return matching[0]
    copies = ", ".join(str(c.address) for c in candidates)
    if not matching:
        given = set(reference.parameters)
        left_out = sorted({k for c in candidates for k in c.address.parameters} - given)
        own = ", ".join(f"{key}={_value(consumer, key)}" for key in left_out)
        raise ValueError(f"no copy of {reference} has this deployment's {own}; name one: {copies}")
    raise ValueError(f"{reference} names several copies; name one: {copies}")


@rule(desc="Find the deployment a CloudFormation deployment's input names", level=LogLevel.DEBUG)
async def find_producer(request: ProducerRequest) -> Producer:
    where = f"{request.consumer}: field `inputs`: {request.parameter}"
    origin = f"the `inputs` field of {request.consumer}"
    consumer = await Get(
        WrappedTarget, WrappedTargetRequest(request.consumer, description_of_origin=origin)
    )
    try:
        address = await Get(
            Address,
            AddressInput,
            AddressInput.parse(
                request.reference,
                relative_to=request.consumer.spec_path,
                description_of_origin=origin,
            ),
        )
        spec = AddressLiteralSpec(
            address.spec_path,
            address.target_name,
            address.generated_name,
            FrozenDict(address.parameters),
        )
        candidates = await Get(
            Targets, RawSpecs(address_literals=(spec,), description_of_origin=origin)
        )
        target = choose_producer(consumer.target, address, list(candidates))
    except Exception as e:  # noqa: BLE001 - an unknown address too: the consumer's error
        return Producer(None, f"{where}: {e}")
    if target.address == request.consumer:
        return Producer(None, f"{where}: a deployment cannot take its own outputs")
    if not target.has_field(DeploymentStackField):
        return Producer(
            None,
            f"{where}: {target.address} is a `{target.alias}`, not a `cloudformation_deployment`",
        )
    if target[DeploymentStackSetAccountsField].value:
        return Producer(
            None,
            f"{where}: {target.address} deploys a StackSet, whose instances' outputs are not "
            "read; name a deployment of a plain stack",
        )
    return Producer(target)


@dataclass(frozen=True)
class DeploymentConsumers:
    """Every deployment that takes outputs of another, by producer: (consumer, parameter,
    output), the parameter being the consumer's that takes the output."""

    by_producer: FrozenDict[Address, tuple[tuple[Address, str, str], ...]]


@rule(desc="Collect the consumers of CloudFormation deployments' outputs", level=LogLevel.DEBUG)
async def collect_consumers(all_targets: AllTargets) -> DeploymentConsumers:
    wanted = [
        (tgt.address, name, reference)
        for tgt in all_targets
        if tgt.has_field(DeploymentInputsField)
        for name, reference in tgt[DeploymentInputsField].references()
        if isinstance(reference, OutputReference)
    ]
    producers = await MultiGet(
        Get(Producer, ProducerRequest(consumer, name, reference.address))
        for consumer, name, reference in wanted
    )
    found: dict[Address, set[tuple[Address, str, str]]] = defaultdict(set)
    for (consumer, name, reference), producer in zip(wanted, producers):
        if producer.target is not None:  # a broken reference is its own deployment's error
            found[producer.target.address].add((consumer, name, reference.output))
    return DeploymentConsumers(FrozenDict({p: tuple(sorted(c)) for p, c in found.items()}))


def rules():
    return collect_rules()
