"""Real digests go into a placeholder synthesis only where that gives the template a real
synthesis would: checked here against a template built the way jiti_infra builds one."""

from __future__ import annotations

import hashlib

import pytest

from jiti.util_rules.placeholders import (
    FIRST,
    SECOND,
    filled_in,
    placeholder_assets,
    request_assets,
)
from jiti_contract import Asset, asset_version_parameter


def asset(address: str, content: str) -> Asset:
    sha = hashlib.sha256(content.encode()).hexdigest()
    return Asset(address=address, sha256=sha, size=1, key=f"assets/{sha}.zip", file="x")


ASSETS = (asset("apps/a:lambda", "one"), asset("apps/a:worker", "two"))


def build(assets: dict, use: str) -> dict:
    """A template from the synthesis request's `assets`, using each digest as `use` says."""
    template: dict = {"Parameters": {}, "Resources": {}, "Outputs": {}}
    ordered = sorted(assets.items(), key=lambda kv: kv[1]["sha256"] if use == "sorted" else kv[0])
    for n, (address, info) in enumerate(ordered):
        name = asset_version_parameter(info["sha256"])
        template["Parameters"][name] = {"Type": "String", "Default": ""}
        code = {"S3Key": info["key"], "S3ObjectVersion": {"Ref": name}}
        template["Resources"][f"Fn{n}"] = {"Properties": {"Code": code}}
        if use == "slice":
            template["Outputs"][f"Short{n}"] = {"Value": info["sha256"][:8]}
        if use == "hash":
            template["Outputs"][f"Hash{n}"] = {
                "Value": hashlib.md5(info["key"].encode()).hexdigest()
            }
    return template


def test_the_placeholders_depend_on_the_addresses_only() -> None:
    edited = (ASSETS[0], asset("apps/a:worker", "changed"))
    assert placeholder_assets(ASSETS, FIRST) == placeholder_assets(edited, FIRST)
    assert placeholder_assets(ASSETS, FIRST) != placeholder_assets(ASSETS, SECOND)


def test_a_digest_used_as_text_goes_in_exactly() -> None:
    placeholders = {w: placeholder_assets(ASSETS, w) for w in (FIRST, SECOND)}
    first, second = (build(placeholders[w], "text") for w in (FIRST, SECOND))
    assert filled_in(first, second, ASSETS, placeholders) == build(request_assets(ASSETS), "text")


@pytest.mark.parametrize("use", ["slice", "hash", "sorted"])
def test_any_other_use_of_a_digest_is_refused(use: str) -> None:
    placeholders = {w: placeholder_assets(ASSETS, w) for w in (FIRST, SECOND)}
    first, second = (build(placeholders[w], use) for w in (FIRST, SECOND))
    assert filled_in(first, second, ASSETS, placeholders) is None
