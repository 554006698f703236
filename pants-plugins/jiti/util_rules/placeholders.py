"""Synthesis that does not rerun when only an asset's bytes change.

A template names each asset by its content digest (its S3 key, `assets/<sha256>.zip`, and its
version parameter, `JitiAssetVersion<sha256[:16]>`), so a handler edit would rerun every
synthesis it reaches. Instead the stack is synthesized with placeholder digests that depend
only on the assets' addresses (the process is then cached across such edits), twice in one
process with two different sets, and the real digests are put in afterwards. That is exact when
the template uses a digest only as text, whole or its first 16 characters: the first template
with the second set put in must equal the second template. Any other use (another slice, a hash
of it, an order sorted by it) fails that check, and the stack is synthesized with the real
digests.
"""

from __future__ import annotations

import hashlib
from typing import Any, Iterable, Mapping

from jiti_contract import Asset

PREFIX = 16  # asset_version_parameter's slice of the digest
FIRST, SECOND = "first", "second"


def placeholder_digest(address: str, index: int, which: str) -> str:
    """A digest for the asset at `address` (the `index`-th by address). Sorting the assets by
    the first set's digests keeps their address order; by the second set's, reverses it."""
    rank = index if which == FIRST else 0xFFFF - index
    rest = hashlib.sha256(f"jiti placeholder {which} {address}".encode()).hexdigest()
    return f"{rank:04x}{rest[4:]}"


def request_assets(assets: Iterable[Asset]) -> dict[str, dict[str, str]]:
    """The synthesis request's `assets`: each asset's key and digest by address."""
    return {a.address: {"key": a.key, "sha256": a.sha256} for a in assets}


def placeholder_assets(assets: Iterable[Asset], which: str) -> dict[str, dict[str, str]]:
    """The synthesis request's `assets`, with placeholder digests in place of the real ones."""
    found = {}
    for index, asset in enumerate(sorted(assets, key=lambda a: a.address)):
        digest = placeholder_digest(asset.address, index, which)
        found[asset.address] = {"key": asset.key.replace(asset.sha256, digest), "sha256": digest}
    return found


def _pairs(old: Mapping[str, Mapping], new: Mapping[str, Mapping]) -> list[tuple[str, str]]:
    """(old, new) text for each asset: the whole digest first, then its prefix."""
    whole = [(old[a]["sha256"], new[a]["sha256"]) for a in old]
    return whole + [(o[:PREFIX], n[:PREFIX]) for o, n in whole]


def substitute(value: Any, pairs: list[tuple[str, str]]) -> Any:
    """`value` (parsed JSON) with each old text replaced by its new one, in keys and values."""
    if isinstance(value, str):
        for old, new in pairs:
            value = value.replace(old, new)
        return value
    if isinstance(value, dict):
        return {substitute(k, pairs): substitute(v, pairs) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, pairs) for v in value]
    return value


def filled_in(
    first: dict, second: dict, assets: Iterable[Asset], placeholders: Mapping[str, Mapping]
) -> dict | None:
    """The template with the real digests, or None when the placeholders can't be trusted to
    stand for them (`placeholders` holds each set by name)."""
    one, two = placeholders[FIRST], placeholders[SECOND]
    if substitute(first, _pairs(one, two)) != second:
        return None
    return substitute(first, _pairs(one, request_assets(assets)))
