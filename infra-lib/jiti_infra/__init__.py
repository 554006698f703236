"""jiti's infrastructure library: building blocks for an app's CloudFormation stack."""

from jiti_infra.app import App, Asset

__all__ = ["App", "Asset"]
