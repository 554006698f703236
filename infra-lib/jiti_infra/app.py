"""The context handed to an app's `template(app)` function.

It carries what the build knows and the infra module cannot: the app's name, the packaged
assets (by Pants address) and the template being built. Everything that varies by deployment
(environment, assets bucket) is a CloudFormation parameter, so one artifact serves every
environment and its version depends on the code alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import Parameter, Ref, Template

ASSETS_BUCKET_PARAMETER = "AssetsBucket"
ENVIRONMENT_PARAMETER = "Environment"


class UnknownAssetError(LookupError):
    """An infra module asked for an asset that is not a packaged dependency of its stack."""


@dataclass(frozen=True)
class Asset:
    """A packaged dependency, stored in the assets bucket under a content-addressed key."""

    address: str
    key: str
    sha256: str
    bucket: Ref


class App:
    """One app's stack: its name, its assets and the template its blocks add to."""

    def __init__(self, name: str, stack_address: str, assets: dict[str, dict] | None = None):
        self.name = name
        self.stack_address = stack_address
        self._assets = dict(assets or {})
        self.template = Template()
        self.template.set_version("2010-09-09")
        self._environment = self.template.add_parameter(
            Parameter(
                ENVIRONMENT_PARAMETER,
                Type="String",
                Default="dev",
                AllowedPattern="[a-z][a-z0-9-]*",
                Description="Deployment environment (dev, staging, prod, ...).",
            )
        )
        self._bucket: Parameter | None = None

    @property
    def environment(self) -> Ref:
        """The deployment environment, as a CloudFormation reference."""
        return Ref(self._environment)

    @property
    def spec_path(self) -> str:
        return self.stack_address.split(":", 1)[0].lstrip("/")

    def resolve_address(self, address: str) -> str:
        """Turn `:lambda` or `//apps/x:lambda` into the full `apps/x:lambda` form."""
        if address.startswith("//"):
            address = address[2:]
        if address.startswith(":"):
            return f"{self.spec_path}{address}"
        return address

    def asset(self, address: str) -> Asset:
        """The packaged dependency at `address` (relative to the stack's BUILD file)."""
        full = self.resolve_address(address)
        if full not in self._assets:
            known = ", ".join(sorted(self._assets)) or "none"
            raise UnknownAssetError(
                f"asset {address!r} ({full}) is not a packaged dependency of {self.stack_address}; "
                f"add it to the stack's `dependencies` field (packaged dependencies: {known})"
            )
        info = self._assets[full]
        return Asset(address=full, key=info["key"], sha256=info["sha256"], bucket=self._assets_bucket())

    def _assets_bucket(self) -> Ref:
        if self._bucket is None:
            self._bucket = self.template.add_parameter(
                Parameter(
                    ASSETS_BUCKET_PARAMETER,
                    Type="String",
                    Description="S3 bucket holding this stack's content-addressed assets (set by jiti).",
                )
            )
        return Ref(self._bucket)
