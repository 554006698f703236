"""Where a deployment goes: the AWS account that is configured, or else the local AWS."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.config import Config

from jiti_infra import local_aws

DEFAULT_REGION = "us-east-1"
CLIENT_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 10})


@dataclass(frozen=True, eq=False)
class AwsTarget:
    session: boto3.Session
    endpoint_url: str | None
    local: bool

    def client(self, service: str):
        return self.session.client(service, endpoint_url=self.endpoint_url, config=CLIENT_CONFIG)

    @property
    def region(self) -> str:
        return self.session.region_name

    @functools.cached_property
    def account(self) -> str:
        return self.client("sts").get_caller_identity()["Account"]

    def describe(self) -> str:
        if self.local:
            return f"local AWS at {self.endpoint_url} ({self.region})"
        account = self.account
        where = f" via {self.endpoint_url}" if self.endpoint_url else ""
        return f"AWS account {account} ({self.region}){where}"


def _configured_credentials(region: str) -> bool:
    # Looking up credentials must not wait on the EC2 metadata service of a laptop.
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    return boto3.Session(region_name=region).get_credentials() is not None


def resolve(region: str | None, state_dir: Path, log=print) -> AwsTarget:
    """Real AWS if credentials or AWS_ENDPOINT_URL are configured (and JITI_AWS is not
    `local`), otherwise the local AWS, started if needed."""
    region = (
        region
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or DEFAULT_REGION
    )
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    force_local = os.environ.get("JITI_AWS", "").lower() == "local"
    if not force_local and (endpoint or _configured_credentials(region)):
        return AwsTarget(boto3.Session(region_name=region), endpoint, local=False)
    server = local_aws.ensure_running(state_dir, log=log)
    session = boto3.Session(region_name=region, **local_aws.CREDENTIALS)
    return AwsTarget(session, server.endpoint, local=True)
