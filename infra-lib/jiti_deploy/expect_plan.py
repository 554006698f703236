"""`--expect-plan`: deploy exactly what was reviewed. A deployment is refused when it is not in
the plan, was not planned, its version is not the one planned, or its live stack moved since
the plan was made (another stack id, update time or version, or created or deleted since)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from jiti_deploy.deployment import Deployment
from jiti_deploy.errors import DeployError

FORMAT = 1
LIVE_KEYS = ("stack_id", "last_updated", "version")


class Unplanned(DeployError):
    """The deployment is not what the reviewed plan shows."""


@dataclass(frozen=True)
class Expected:
    path: Path
    entries: dict  # address -> the plan's entry


def _checked(data) -> dict:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"not a jiti plan of format {FORMAT}")
    entries = data.get("deployments")
    if not isinstance(entries, list):
        raise ValueError("no `deployments` list")
    found = {}
    for entry in entries:
        live = entry.get("live") if isinstance(entry, dict) else None
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("address"), str)
            and isinstance(entry.get("new_version"), str)
            and (live is None or (isinstance(live, dict) and all(k in live for k in LIVE_KEYS)))
        ):
            raise ValueError("a deployment lacks `address`, `new_version` or a valid `live`")
        found[entry["address"]] = entry
    return found


def load(path: Path) -> Expected:
    """The reviewed plan; ValueError saying what is wrong with the file."""
    try:
        return Expected(path, _checked(json.loads(path.read_text())))
    except OSError as e:
        raise ValueError(f"cannot read the plan {path}: {e.strerror or e}") from None
    except ValueError as e:
        raise ValueError(f"the plan {path} is not a valid jiti plan: {e}") from None


def differences(expected: Expected, deployment: Deployment, current) -> list[str]:
    """What differs from the plan (empty: deploy it)."""
    entry = expected.entries.get(deployment.address)
    if entry is None:
        return ["it is not in the plan"]
    if entry.get("status") not in ("new", "changes", "unchanged"):
        return [f"the plan did not review it ({entry.get('status')})"]
    found = []
    if entry["new_version"] != deployment.version:
        found.append(
            f"its version is {deployment.version[:12]}, the plan's {entry['new_version'][:12]}"
        )
    planned = entry["live"]
    if planned is None and current is not None:
        found.append("its stack was created since the plan")
    elif planned is not None and current is None:
        found.append("its stack was deleted since the plan")
    elif planned is not None:
        now = {k: getattr(current, k) for k in LIVE_KEYS}
        found += [
            f"live {k.replace('_', ' ')} is {_short(k, now[k])}, the plan saw "
            f"{_short(k, planned[k])}"
            for k in LIVE_KEYS
            if now[k] != planned[k]
        ]
    return found


def _short(key: str, value) -> str:
    if value is None:
        return "none"
    return str(value)[:12] if key == "version" else str(value)


def check(expected: Expected | None, deployment: Deployment, current) -> None:
    """Raise Unplanned, in one line, unless the deployment is the one the plan reviewed."""
    if expected is None:
        return
    found = differences(expected, deployment, current)
    if found:
        raise Unplanned(
            f"{deployment.address}: refused, not as reviewed in {expected.path.name}: "
            + "; ".join(found)
        )
