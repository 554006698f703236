"""The context handed to an app's `template(app)` function.

It carries what the build knows and the infra module cannot: the app's name, the packaged
assets (by Pants address) and the template being built, plus the organisation's conventions
every building block follows: names derived from app and environment, `jiti:*` tags on every
taggable resource, outputs exported per app and environment. Everything that varies by
deployment (environment, assets bucket) is a CloudFormation parameter, so one artifact serves
every environment and its version depends on the code alone. So is what an app takes from another
app (`app.input`): the deployment fills it from the other app's stack outputs, so no stack
imports another's exports (an export in use can never change).
"""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import (
    AWSObject,
    Equals,
    Export,
    If,
    Not,
    Output,
    Parameter,
    Ref,
    Sub,
    Tags,
    Template,
)

from jiti_contract import (
    APP_TAG,
    ASSETS_BUCKET_PARAMETER,
    ENV_TAG,
    ENVIRONMENT_PARAMETER,
    asset_version_parameter,
)


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
        # A permissions boundary (a managed policy's ARN, or a reference to a parameter holding
        # one) for every IAM role the app's blocks make: set it in `template(app)`.
        self.permissions_boundary = None
        self.template.set_version("2010-09-09")
        self._environment = self.parameter(
            ENVIRONMENT_PARAMETER,
            default="dev",
            description="Deployment environment (dev, staging, prod, ...).",
            AllowedPattern="[a-z][a-z0-9-]*",
        )

    # -- deployment-time values ------------------------------------------------------------

    @property
    def environment(self) -> Ref:
        """The deployment environment, as a CloudFormation reference."""
        return Ref(self._environment)

    def parameter(
        self,
        name: str,
        *,
        type: str = "String",
        default=None,
        description: str = "",
        **kw,
    ) -> Parameter:
        """A stack parameter (added once; later calls return the first)."""
        if name in self.template.parameters:
            return self.template.parameters[name]
        props = {"Type": type, **kw}
        if default is not None:
            props["Default"] = default
        if description:
            props["Description"] = description
        return self.template.add_parameter(Parameter(name, **props))

    def input(self, name: str, *, description: str = "", no_echo: bool = False) -> Parameter:
        """A value the app needs from outside: a required stack parameter, which the deployment
        sets from another app's stack output or an SSM parameter (its `inputs` field) or from
        the BUILD file (its `parameters` field), the infra code reading the same either way.
        `no_echo` for a value CloudFormation, and jiti, must never show."""
        extra = {"NoEcho": True} if no_echo else {}
        return self.parameter(
            name,
            description=description or f"{name}, set by the deployment (`inputs` or `parameters`).",
            **extra,
        )

    # -- conventions ---------------------------------------------------------------------

    def physical_name(self, suffix: str, *, lowercase: bool = False) -> Sub:
        """`<app>-<env>-<suffix>`: unique per app and environment, stable across deploys."""
        app = self.name.lower() if lowercase else self.name
        return Sub(f"{app}-${{{ENVIRONMENT_PARAMETER}}}-{suffix}")

    def tags(self) -> dict:
        return {APP_TAG: self.name, ENV_TAG: self.environment}

    def output(self, name: str, value, description: str) -> Output:
        """An output exported as `<app>-<env>-<name>`, for other stacks and for users."""
        return self.template.add_output(
            Output(
                name,
                Value=value,
                Description=description,
                Export=Export(self.physical_name(name)),
            )
        )

    def add(self, resource: AWSObject) -> AWSObject:
        return self.template.add_resource(resource)

    def finalize(self) -> Template:
        """Apply the conventions no block should have to remember: tags on every resource, and
        the app's permissions boundary on every role."""
        for resource in self.template.resources.values():
            _add_tags(resource, self.tags())
            if self.permissions_boundary is not None and resource.resource_type == "AWS::IAM::Role":
                if "PermissionsBoundary" not in resource.properties:
                    resource.PermissionsBoundary = self.permissions_boundary
        return self.template

    # -- assets --------------------------------------------------------------------------

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
        bucket = self.parameter(
            ASSETS_BUCKET_PARAMETER,
            description="S3 bucket holding this stack's content-addressed assets (set by jiti).",
        )
        return Asset(address=full, key=info["key"], sha256=info["sha256"], bucket=Ref(bucket))

    def asset_version(self, asset: Asset) -> If:
        """The S3 object version of `asset` that the deploy checked holds its bytes, for a
        property CloudFormation reads the asset with (e.g. `Code.S3ObjectVersion`): bytes put at
        the key later change nothing deployed. Unset (the newest version) where the deploy
        gives none (StackSets)."""
        name = asset_version_parameter(asset.sha256)
        self.parameter(
            name,
            default="",
            description=f"S3 object version of {asset.address} (set by jiti).",
        )
        condition = f"{name}Set"
        if condition not in self.template.conditions:
            self.template.add_condition(condition, Not(Equals(Ref(name), "")))
        return If(condition, Ref(name), Ref("AWS::NoValue"))


def _add_tags(resource: AWSObject, tags: dict) -> None:
    """Add the app's tags to a resource that takes tags, keeping tags it already has."""
    spec = resource.props.get("Tags")
    if spec is None:
        return
    current = resource.properties.get("Tags")
    if spec[0] is dict:  # a few resource types take a plain map
        resource.Tags = {**tags, **(current or {})}
    else:
        ours = Tags(**tags)
        resource.Tags = ours + current if isinstance(current, Tags) else ours
