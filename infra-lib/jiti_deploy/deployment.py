"""One deployment as the runtime sees it: its plan and its packaged stack, read from disk once."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from jiti_contract import Manifest, Plan, fill_placeholders, from_json
from jiti_deploy.errors import DeployError
from jiti_deploy.source import Source


@dataclass(frozen=True)
class Deployment:
    plan: Plan
    manifest: Manifest
    manifest_path: Path
    outputs_file: Path | None = None
    source: Source | None = None  # the commit deployed, when the build root is a git repository

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
    def role_to_assume(self) -> str | None:
        """The role to assume in `account` (the `assume_role` field, `{account}` filled in)."""
        if not (self.plan.account and self.plan.assume_role):
            return None
        return fill_placeholders(self.plan.assume_role, {"account": self.plan.account})

    def expand(self, value: str, account: str, region: str) -> str:
        """Fill `{account}`, `{region}` and `{env}` in a parameter value."""
        return fill_placeholders(
            value, {"account": account, "region": region, "env": self.plan.environment}
        )

    def config_hash(self) -> str:
        """Deployment settings that are not in the version but change what is deployed."""
        settings = {
            "parameters": dict(self.plan.parameters),
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
        return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def load(
    plan_path: Path, artifacts_dir: Path, outputs_dir: Path | None, source: Source | None = None
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
    return Deployment(plan, manifest, manifest_path, outputs_file, source)
