"""Secrets never leave the runtime in clear.

The secrets of a run are its deployments' `NoEcho` values (parameters and inputs) and, for a
producer, the outputs a consumer takes as a `NoEcho` input. Each is registered here as soon as
it is known, and `mask` replaces it, also inside longer text, with a fixed `****` (which says
nothing of its length) wherever text leaves the process: the log, the report, the plan, the
outputs files. A change-set value built from a `NoEcho` parameter is hidden whole, since its
"before" may hold the previous secret, which jiti never knows.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from enum import Enum
from typing import Any, Iterable, Mapping

MASK = "****"

_known: set[str] = set()
_forms: tuple[str, ...] = ()  # what to replace, longest first (replaced whole, never changed)
_lock = threading.Lock()


def add(values: Iterable[str]) -> None:
    """Register secret values: each is masked from now on, as it is and as JSON writes it."""
    global _forms
    forms = set()
    for value in values:
        if isinstance(value, str) and value and value != MASK:
            forms |= {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
    with _lock:
        if forms - _known:
            _known.update(forms)
            _forms = tuple(sorted(_known, key=len, reverse=True))


def mask(obj: Any) -> Any:
    """`obj` (text, or JSON-like data and dataclass records holding text) with every secret
    replaced by `****`."""
    if isinstance(obj, Enum):
        return obj
    if isinstance(obj, str):
        for secret in _forms:
            if secret in obj:
                obj = obj.replace(secret, MASK)
        return obj
    if isinstance(obj, Mapping):
        return {mask(k): mask(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(mask(v) for v in obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.replace(
            obj, **{f.name: mask(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.init}
        )
    return obj


def no_echo_outputs(consumers) -> set[str]:
    """The outputs of a producer that one of its consumers takes as a `NoEcho` input."""
    return {o for c in consumers for o in c.no_echo_outputs}


def add_outputs(outputs: Mapping[str, str], consumers) -> None:
    """Register the outputs of a producer that its consumers take as secrets."""
    add(v for k, v in outputs.items() if k in no_echo_outputs(consumers))


def references(value: Any, names: frozenset[str]) -> bool:
    """`value` (template JSON) refers to one of the parameters `names` (Ref, Sub)."""
    if isinstance(value, Mapping):
        if value.get("Ref") in names:
            return True
        sub = value.get("Fn::Sub")
        text = sub if isinstance(sub, str) else (sub[0] if isinstance(sub, list) and sub else "")
        if isinstance(text, str) and any("${" + n + "}" in text for n in names):
            return True
        return any(references(v, names) for v in value.values())
    if isinstance(value, list):
        return any(references(v, names) for v in value)
    return False


def derived_properties(template: Mapping[str, Any], names: frozenset[str]) -> set[tuple]:
    """(logical id, property) of each resource property a `NoEcho` parameter goes into."""
    if not names:
        return set()
    return {
        (logical_id, name)
        for logical_id, resource in (template.get("Resources") or {}).items()
        if isinstance(resource, Mapping)
        for name, value in (resource.get("Properties") or {}).items()
        if references(value, names)
    }


def hide_derived(change_set, derived: set[tuple]):
    """The change set with the values of each property in `derived` hidden whole."""

    def hidden(change):
        details = tuple(
            (
                dataclasses.replace(
                    d,
                    before=None if d.before is None else MASK,
                    after=None if d.after is None else MASK,
                )
                if (change.logical_id, d.name or d.attribute) in derived
                else d
            )
            for d in change.details
        )
        return dataclasses.replace(change, details=details)

    return dataclasses.replace(change_set, changes=tuple(hidden(c) for c in change_set.changes))
