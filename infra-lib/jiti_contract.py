"""The contract between jiti's Pants plugin and the programs it runs: the synthesis main and the
deploy runtime.

The plugin writes a synthesis request, a manifest per stack and a plan per deployment; the
programs read them. Both sides import this module (it is in both resolves, standard library
only), so every file name, key, tag, parameter name and exit code is defined once, here.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Tuple, Type, TypeVar

# A mistake in the user's input: the program printed one line for the user, no traceback.
EXIT_USER_ERROR = 2

# Tags jiti puts on every stack it deploys.
VERSION_TAG = "jiti:version"  # the stack's content version (see Manifest.version)
CONFIG_TAG = "jiti:config"  # a hash of the deployment's own settings
APP_TAG = "jiti:app"
ENV_TAG = "jiti:env"

# Template parameters whose values jiti supplies at deploy time.
ENVIRONMENT_PARAMETER = "Environment"
ASSETS_BUCKET_PARAMETER = "AssetsBucket"

# Template metadata: archive assets the deploy unpacks into a bucket once the stack is live.
SITE_CONTENT_METADATA = "jiti:site-content"

# Placeholders users may write in BUILD files, and where each is allowed.
STACK_NAME_PLACEHOLDERS = ("app", "env")
PARAMETER_PLACEHOLDERS = ("account", "region", "env")
ASSUME_ROLE_PLACEHOLDERS = ("account",)

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


class PlaceholderError(ValueError):
    """A `{name}` that is not allowed where it is written."""


def placeholders_in(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


def check_placeholders(text: str, allowed: tuple[str, ...]) -> None:
    unknown = sorted(placeholders_in(text) - set(allowed))
    if unknown:
        names = ", ".join("{" + a + "}" for a in allowed)
        raise PlaceholderError(
            f"{text!r} uses {', '.join('{' + u + '}' for u in unknown)}; only {names} may be used"
        )


def fill_placeholders(text: str, values: Mapping[str, str]) -> str:
    """Replace each `{name}` in `text` by `values[name]`; names without a value stay as they are
    (they are filled later, where their value is known: account and region at deploy time)."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


# --- the files --------------------------------------------------------------------------

T = TypeVar("T")


def to_json(record: Any) -> str:
    """Canonical JSON for a contract record: sorted keys, two-space indent, trailing newline."""
    return json.dumps(dataclasses.asdict(record), sort_keys=True, indent=2) + "\n"


def from_json(cls: Type[T], text: str) -> T:
    return from_dict(cls, json.loads(text))


def from_dict(cls: Type[T], data: Mapping[str, Any]) -> T:
    """Build a contract record, nested records and tuples included, refusing unknown keys."""
    hints = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(hints))
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown keys {', '.join(unknown)}")
    values = {}
    for name, value in data.items():
        nested = _NESTED.get((cls.__name__, name))
        if nested and value is not None:
            if isinstance(value, list):
                value = tuple(from_dict(nested, v) for v in value)
            else:
                value = from_dict(nested, value)
        elif isinstance(value, list):
            value = tuple(value)
        values[name] = value
    return cls(**values)


@dataclass(frozen=True)
class SynthesisRequest:
    """What the plugin asks the synthesis main to build."""

    address: str  # the stack target
    app: str  # the app name the infra module sees as `app.name`
    source: str  # the infra module or plain template, relative to the build root
    module: Optional[str] = None  # the infra module's import name; None for a plain template
    description: Optional[str] = None
    # Packaged dependencies by address: {"key": S3 key, "sha256": content hash}.
    assets: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    FILE = "__jiti_synth_request.json"
    OUTPUT = "__jiti_synth_out/template.json"


@dataclass(frozen=True)
class Asset:
    """A packaged dependency, named by its content: `assets/<sha256><ext>`."""

    address: str
    sha256: str
    size: int
    key: str
    file: str  # the copy beside the manifest, relative to it


@dataclass(frozen=True)
class Manifest:
    """`<name>.manifest.json`: what a packaged stack is, beside its template and assets."""

    address: str
    app: str
    version: str  # sha256 over the canonical template and every asset's content
    template: str  # the template file, relative to the manifest
    template_sha256: str
    assets: Tuple[Asset, ...]
    parameters: Mapping[str, Any]  # the template's Parameters section
    tags: Mapping[str, str]
    description: Optional[str]

    @property
    def version_short(self) -> str:
        return self.version[:12]

    def to_json(self) -> str:
        data = dataclasses.asdict(self)
        data["version_short"] = self.version_short  # for people and scripts reading the file
        return json.dumps(data, sort_keys=True, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> "Manifest":
        data = json.loads(text)
        data.pop("version_short", None)
        return from_dict(cls, data)


@dataclass(frozen=True)
class StackSetSettings:
    """StackSets mode: one StackSet, one instance per account and region."""

    accounts: Tuple[str, ...]
    regions: Tuple[str, ...]
    max_concurrent_percentage: int
    failure_tolerance_percentage: int


@dataclass(frozen=True)
class Plan:
    """`jiti-plans/<address>.json`: one deployment's settings, for the deploy runtime."""

    address: str
    name: str  # names the outputs file; parametrized copies each get their own
    app: str
    stack_name: str
    environment: str
    manifest: str  # the packaged stack's manifest, relative to the artifacts root
    region: Optional[str] = None
    account: Optional[str] = None
    assume_role: Optional[str] = None  # may hold `{account}`
    stack_set: Optional[StackSetSettings] = None
    parameters: Mapping[str, str] = field(default_factory=dict)  # may hold PARAMETER_PLACEHOLDERS
    tags: Mapping[str, str] = field(default_factory=dict)
    role_arn: Optional[str] = None
    termination_protection: bool = False
    capabilities: Tuple[str, ...] = ()
    depends_on: Tuple[str, ...] = ()  # deployments that go first when deployed together

    DIR = "jiti-plans"

    @staticmethod
    def path_for(path_safe_address: str) -> str:
        return f"{Plan.DIR}/{path_safe_address}.json"


_NESTED: dict[tuple[str, str], type] = {
    ("Manifest", "assets"): Asset,
    ("Plan", "stack_set"): StackSetSettings,
}
