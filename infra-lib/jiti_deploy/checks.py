"""Checks on the plans before any call is made: the mistakes only botocore's data can show
(the plugin runs without botocore), reported together, one line each."""

from __future__ import annotations

import functools

import botocore.session

from jiti_deploy.deployment import Deployment


@functools.lru_cache(maxsize=None)
def known_regions() -> frozenset[str]:
    """Every region CloudFormation has an endpoint in, in every partition botocore knows."""
    session = botocore.session.get_session()
    return frozenset(
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("cloudformation", partition_name=partition)
    )


def _region_problem(address: str, field: str, region: str) -> str | None:
    if region in known_regions():
        return None
    return (
        f"{address}: field `{field}`: {region!r} is not an AWS region "
        "(e.g. us-east-1, eu-west-1; see `aws ec2 describe-regions`)"
    )


def problems(deployments: list[Deployment]) -> list[str]:
    found = []
    for d in deployments:
        if d.plan.region:
            found.append(_region_problem(d.address, "region", d.plan.region))
        for region in d.plan.stack_set.regions if d.plan.stack_set else ():
            found.append(_region_problem(d.address, "stack_set_regions", region))
    return [p for p in found if p]


def place_problems(places) -> list[str]:
    """The same region check for an inventory's stacks (prune and drift)."""
    found = [_region_problem(p.address, "region", p.region) for p in places if p.region]
    return [p for p in found if p]
