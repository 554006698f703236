"""One deployment as the runtime sees it: its plan and its packaged stack, read from disk once."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from jiti_contract import (
    Manifest,
    Plan,
    StackPlace,
    fill_placeholders,
    from_json,
    is_no_echo,
)
from jiti_deploy import preview
from jiti_deploy.errors import DeployError
from jiti_deploy.source import Source


@dataclass(frozen=True)
class Deployment:
    plan: Plan
    manifest: Manifest
    manifest_path: Path
    outputs_file: Path | None = None
    source: Source | None = None  # the commit deployed, when the build root is a git repository
    # Set by the deploy, not read from disk: the values of the plan's inputs, the inputs a dry
    # run cannot know yet (parameter -> why), and the key NoEcho values are hashed with (see
    # config_key.py; never stored on the stack).
    inputs: Mapping[str, str] = field(default_factory=dict)
    pending: Mapping[str, str] = field(default_factory=dict)
    config_key: str | None = field(default=None, repr=False)
    expires: str | None = None  # a preview copy's expiry, set when the plan is read

    @property
    def preview_name(self) -> str | None:
        """The preview environment this deployment is a copy in, if any."""
        return self.plan.preview.name if self.plan.preview else None

    @property
    def address(self) -> str:
        return self.plan.address

    @property
    def stack_name(self) -> str:
        return self.plan.stack_name

    @property
    def version(self) -> str:
        return self.manifest.version

    @property
    def template_path(self) -> Path:
        return self.manifest_path.parent / self.manifest.template

    def asset_path(self, asset) -> Path:
        return self.manifest_path.parent / asset.file

    @property
    def place(self) -> StackPlace:
        plan = self.plan
        return StackPlace(
            plan.address, plan.stack_name, plan.account, plan.region, plan.assume_role
        )

    @property
    def role_to_assume(self) -> str | None:
        """The role to assume in `account` (the `assume_role` field, `{account}` filled in)."""
        return self.place.role_to_assume

    def expand(self, value: str, account: str, region: str) -> str:
        """Fill `{account}`, `{region}` and `{env}` in a parameter value."""
        return fill_placeholders(
            value, {"account": account, "region": region, "env": self.plan.environment}
        )

    @property
    def no_echo(self) -> frozenset[str]:
        """The parameters whose values are never shown or stored (NoEcho in the template)."""
        return frozenset(n for n, spec in self.manifest.parameters.items() if is_no_echo(spec))

    @property
    def secret_values(self) -> set[str]:
        """The NoEcho values it passes: parameters (as the plan writes them) and inputs."""
        values = {**self.plan.parameters, **self.inputs}
        return {str(v) for name, v in values.items() if name in self.no_echo}

    @property
    def has_secret_values(self) -> bool:
        return bool(self.no_echo & (set(self.plan.parameters) | set(self.inputs)))

    def with_inputs(self, values: Mapping[str, str], pending: Mapping[str, str]) -> "Deployment":
        return dataclasses.replace(self, inputs=dict(values), pending=dict(pending))

    def keyed(self, key: str) -> "Deployment":
        return dataclasses.replace(self, config_key=key)

    def config_hash(self) -> str:
        """Deployment settings that are not in the version but change what is deployed, the
        values of its inputs included; NoEcho values enter only keyed (HMAC-SHA256 under a key
        kept off the stack), so nothing on the stack lets a secret be guessed offline."""
        settings = {
            "parameters": self._hidden(self.plan.parameters),
            "tags": dict(self.plan.tags),
            "role_arn": self.plan.role_arn,
            "termination_protection": self.plan.termination_protection,
            "capabilities": sorted(self.plan.capabilities),
            "stack_set": self.plan.stack_set and dataclasses.asdict(self.plan.stack_set),
            "depends_on": sorted(self.plan.depends_on),
            "repository": self.plan.repository,
            "stack_policy": self.plan.stack_policy,
            "rollback_alarms": list(self.plan.rollback_alarms),
            "rollback_monitoring_minutes": self.plan.rollback_monitoring_minutes,
            "notification_arns": list(self.plan.notification_arns),
            "disable_rollback": self.plan.disable_rollback,
        }
        if self.inputs:
            settings["inputs"] = self._hidden(self.inputs)
        return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]

    def _hidden(self, values: Mapping[str, str]) -> dict[str, str]:
        secret = self.no_echo
        if secret & set(values) and not self.config_key:
            raise ValueError(f"{self.address}: NoEcho values are hashed only with the config key")
        return {
            name: (
                _keyed_hash([self.address, name, value], self.config_key)
                if name in secret
                else value
            )
            for name, value in values.items()
        }


def _keyed_hash(named_value: list[str], key: str) -> str:
    """A NoEcho value (with its deployment and name, so that the same secret hashes differently
    on each stack) as it enters the config hash: without the key, no guess can be checked."""
    message = json.dumps(named_value).encode()
    return "hmac:" + hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def load(
    plan_path: Path,
    artifacts_dir: Path,
    outputs_dir: Path | None,
    source: Source | None = None,
    now: float | None = None,
) -> Deployment:
    try:
        plan = from_json(Plan, plan_path.read_text())
        manifest_path = artifacts_dir / plan.manifest
        manifest = Manifest.from_json(manifest_path.read_text())
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise DeployError(f"cannot read the deployment plan {plan_path}: {e}") from None
    outputs_file = None
    if outputs_dir is not None:
        outputs_file = outputs_dir / plan.manifest.replace(
            ".manifest.json", f".{plan.name}.outputs.json"
        )
    expires = None
    if plan.preview is not None:
        now = time.time() if now is None else now
        expires = preview.expires_at(now, plan.preview.ttl_hours)
    return Deployment(plan, manifest, manifest_path, outputs_file, source, expires=expires)
