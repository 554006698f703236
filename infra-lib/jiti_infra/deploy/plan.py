"""What the build hands the deploy: one deployment's settings and its packaged stack."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from jiti_infra.deploy.errors import DeployError


@dataclass(frozen=True)
class Deployment:
    address: str
    stack_name: str
    app: str
    environment: str
    region: str | None
    manifest_path: Path
    manifest: dict
    parameters: dict = field(default_factory=dict)
    tags: dict = field(default_factory=dict)
    role_arn: str | None = None
    termination_protection: bool = False
    capabilities: tuple[str, ...] = ()
    outputs_file: Path | None = None
    depends_on: tuple[str, ...] = ()
    account: str | None = None
    assume_role: str | None = None
    stack_set: dict | None = None  # accounts, regions, max_concurrent/failure_tolerance percentages

    @property
    def role_to_assume(self) -> str | None:
        """The role to assume in `account` (the `assume_role` field, `{account}` filled in)."""
        return (
            self.assume_role.replace("{account}", self.account)
            if self.account and self.assume_role
            else None
        )

    def expand(self, value: str, account: str, region: str) -> str:
        """Fill `{account}`, `{region}` and `{env}` in a parameter value."""
        for name, actual in (
            ("{account}", account),
            ("{region}", region),
            ("{env}", self.environment),
        ):
            value = value.replace(name, actual)
        return value

    @property
    def version(self) -> str:
        return self.manifest["version"]

    @property
    def template_path(self) -> Path:
        return self.manifest_path.parent / self.manifest["template"]

    def asset_path(self, asset: dict) -> Path:
        return self.manifest_path.parent / asset["file"]

    def config_hash(self) -> str:
        """Deployment settings that are not in the version but change what is deployed."""
        settings = {
            "parameters": self.parameters,
            "tags": self.tags,
            "role_arn": self.role_arn,
            "termination_protection": self.termination_protection,
            "capabilities": sorted(self.capabilities),
            "stack_set": self.stack_set,
        }
        return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def load(plan_path: Path, artifacts_dir: Path, outputs_dir: Path | None) -> Deployment:
    try:
        plan = json.loads(plan_path.read_text())
        manifest_path = artifacts_dir / plan["manifest"]
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError, KeyError) as e:
        raise DeployError(f"cannot read the deployment plan {plan_path}: {e}") from None
    outputs_file = None
    if outputs_dir is not None:
        outputs_file = outputs_dir / plan["manifest"].replace(
            ".manifest.json", f".{plan['name']}.outputs.json"
        )
    return Deployment(
        address=plan["address"],
        stack_name=plan["stack_name"],
        app=plan["app"],
        environment=plan["environment"],
        region=plan.get("region"),
        manifest_path=manifest_path,
        manifest=manifest,
        parameters=dict(plan.get("parameters") or {}),
        tags=dict(plan.get("tags") or {}),
        role_arn=plan.get("role_arn"),
        termination_protection=bool(plan.get("termination_protection")),
        capabilities=tuple(plan.get("capabilities") or ()),
        outputs_file=outputs_file,
        depends_on=tuple(plan.get("depends_on") or ()),
        account=plan.get("account"),
        assume_role=plan.get("assume_role"),
        stack_set=plan.get("stack_set"),
    )
