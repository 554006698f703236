"""Where a deployment goes: an AWS account and region (real, or the local AWS), with its clients."""

from __future__ import annotations

import functools
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import boto3
from botocore.config import Config

from jiti_deploy import local_aws

DEFAULT_REGION = "us-east-1"
CLIENT_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 10})


@dataclass(frozen=True, eq=False)
class Destination:
    session: boto3.Session
    endpoint_url: str | None
    local: bool
    _clients: dict = field(default_factory=dict, repr=False)
    _done: set = field(default_factory=set, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def client(self, service: str):
        """One client per service, shared by the deploy threads: clients are thread-safe, and
        making one costs more CPU than a call to the local AWS (sessions are not thread-safe,
        hence the lock)."""
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self.session.client(
                    service, endpoint_url=self.endpoint_url, config=CLIENT_CONFIG
                )
            return self._clients[service]

    def once(self, key: str, action) -> None:
        """Run `action` the first time `key` comes up for this destination in a run (e.g. checking
        the assets bucket that every stack deployed there shares)."""
        with self._lock:
            if key not in self._done:
                action()
                self._done.add(key)

    @property
    def region(self) -> str:
        return self.session.region_name

    def in_region(self, region: str) -> "Destination":
        """The same credentials and endpoint, in another region."""
        creds = self.session.get_credentials().get_frozen_credentials()
        return self.with_credentials(region, creds.access_key, creds.secret_key, creds.token)

    def with_credentials(
        self, region: str, key: str, secret: str, token: str | None
    ) -> "Destination":
        session = boto3.Session(
            region_name=region,
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            aws_session_token=token,
        )
        return Destination(session, self.endpoint_url, self.local)

    @functools.cached_property
    def account(self) -> str:
        return self.client("sts").get_caller_identity()["Account"]

    def describe(self) -> str:
        if self.local:
            return f"local AWS at {self.endpoint_url} (account {self.account}, {self.region})"
        account = self.account
        where = f" via {self.endpoint_url}" if self.endpoint_url else ""
        return f"AWS account {account} ({self.region}){where}"


def _configured_credentials(region: str) -> bool:
    # Looking up credentials must not wait on the EC2 metadata service of a laptop.
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    return boto3.Session(region_name=region).get_credentials() is not None


def resolve(region: str | None, state_dir: Path, log=print) -> Destination:
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
        return Destination(boto3.Session(region_name=region), endpoint, local=False)
    server = local_aws.ensure_running(state_dir, log=log)
    session = boto3.Session(region_name=region, **local_aws.CREDENTIALS)
    return Destination(session, server.endpoint, local=True)


class Destinations:
    """One Destination per (account, region) of a run. A deployment naming an account gets there
    by assuming its role; credentials are assumed once per role and reused across regions."""

    def __init__(self, state_dir: Path, log=print):
        self._state_dir = state_dir
        self._log = log
        self._destinations: dict[tuple[str | None, str | None], Destination] = {}
        self._bases: dict[str | None, Destination] = {}  # the current credentials, per region
        self._credentials: dict[str, dict] = {}
        self._lock = threading.Lock()

    def get(self, account: str | None, region: str | None, role_arn: str | None) -> Destination:
        with self._lock:
            return self._get(account, region, role_arn)

    def _get(self, account: str | None, region: str | None, role_arn: str | None) -> Destination:
        key = (account, region)
        if key not in self._destinations:
            if region not in self._bases:
                self._bases[region] = resolve(region, self._state_dir, log=self._log)
            base = self._bases[region]
            self._destinations[key] = self._assume(base, role_arn) if account else base
            self._log(f"target: {self._destinations[key].describe()}")
        return self._destinations[key]

    def _assume(self, base: Destination, role_arn: str) -> Destination:
        if role_arn not in self._credentials:
            response = base.client("sts").assume_role(
                RoleArn=role_arn, RoleSessionName="jiti-deploy"
            )
            self._credentials[role_arn] = response["Credentials"]
        creds = self._credentials[role_arn]
        return base.with_credentials(
            base.region, creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]
        )
