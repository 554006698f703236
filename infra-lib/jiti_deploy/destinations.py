"""Where a deployment goes: an AWS account and region, real or the local AWS, with its clients.

Which one is never guessed: `[jiti].target` says `local`, `aws` or `auto` (boto3's credential
chain decides), and every destination says what it is (`describe()`) before anything is done.
"""

from __future__ import annotations

import functools
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import (
    AssumeRoleCredentialFetcher,
    Credentials,
    DeferredRefreshableCredentials,
)

from jiti_contract import ASSETS_BUCKET_DEFAULT, StackPlace, fill_placeholders
from jiti_deploy import local_aws
from jiti_deploy.aws_names import partition
from jiti_deploy.errors import DeployError

DEFAULT_REGION = "us-east-1"
CLIENT_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 10})
# Assumed-role sessions last this long, and are renewed by botocore before they expire.
ASSUMED_ROLE_SECONDS = 3600


@dataclass(frozen=True, eq=False)
class Destination:
    session: boto3.Session
    endpoint_url: str | None
    local: bool
    assets_bucket: str = ASSETS_BUCKET_DEFAULT  # its assets bucket's name, with placeholders
    _clients: dict = field(default_factory=dict, repr=False)
    _done: set = field(default_factory=set, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _once_locks: dict = field(default_factory=dict, repr=False)

    @property
    def kind(self) -> str:
        """`local` or `aws`, as reports show it."""
        return "local" if self.local else "aws"

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
        the assets bucket that every stack deployed there shares). Only that key waits for it:
        clients are still handed out meanwhile, so the run's other calls go on."""
        with self._lock:
            key_lock = self._once_locks.setdefault(key, threading.RLock())
        with key_lock:
            if key not in self._done:
                action()
                self._done.add(key)

    @property
    def region(self) -> str:
        return self.session.region_name

    def in_region(self, region: str) -> "Destination":
        """The same credentials (refreshed as they are) and endpoint, in another region."""
        return self.with_session(_session(region, self.session.get_credentials()))

    def with_session(self, session: boto3.Session) -> "Destination":
        """The same endpoint and settings, with other credentials or region (and its own clients)."""
        return Destination(session, self.endpoint_url, self.local, self.assets_bucket)

    @functools.cached_property
    def account(self) -> str:
        return self.client("sts").get_caller_identity()["Account"]

    def describe(self) -> str:
        if self.local:
            return f"local AWS at {self.endpoint_url} (account {self.account}, {self.region})"
        where = f" via {self.endpoint_url}" if self.endpoint_url else ""
        return f"AWS account {self.account} ({self.region}){where}"


def _session(region: str, credentials: Credentials) -> boto3.Session:
    """A session in `region` using `credentials` as they are (refreshable ones keep refreshing)."""
    core = botocore.session.get_session()
    core._credentials = credentials  # botocore's way to hand a session its credentials object
    return boto3.Session(botocore_session=core, region_name=region)


def _in_partition(role_arn: str, base: Destination) -> str:
    """`role_arn` with `{partition}` filled in for the destination's region (`aws-cn` in China)."""
    return fill_placeholders(role_arn, {"partition": partition(base.session, base.region)})


def default_region(region: str | None) -> str:
    return (
        region
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or DEFAULT_REGION
    )


def resolve(
    target: str,
    region: str | None,
    state_dir: Path,
    log=print,
    assets_bucket: str = ASSETS_BUCKET_DEFAULT,
) -> Destination:
    """The destination of the current credentials in `region`, for `[jiti].target`:
    `local` (the local AWS, started if needed), `aws` (credentials required), or `auto`."""
    region = default_region(region)
    if target != "local":
        session = boto3.Session(region_name=region)
        if session.get_credentials() is not None:
            return Destination(session, os.environ.get("AWS_ENDPOINT_URL"), False, assets_bucket)
        if target == "aws":
            raise DeployError(
                "[jiti].target is aws, but no AWS credentials were found: configure them as for "
                "the AWS CLI (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, SSO, web "
                "identity, ...), or use --jiti-target=local for the local AWS"
            )
    server = local_aws.ensure_running(state_dir, log=log)
    session = boto3.Session(region_name=region, **local_aws.CREDENTIALS)
    return Destination(session, server.endpoint, True, assets_bucket)


class Destinations:
    """One Destination per (account, region) of a run. A deployment naming an account gets there
    by assuming its role; credentials are assumed once per role and reused across regions."""

    def __init__(
        self, target: str, state_dir: Path, log=print, assets_bucket: str = ASSETS_BUCKET_DEFAULT
    ):
        self._target = target
        self._assets_bucket = assets_bucket
        self._state_dir = state_dir
        self._log = log
        self._destinations: dict[tuple[str | None, str | None], Destination] = {}
        self._bases: dict[str | None, Destination] = {}  # the current credentials, per region
        self._assumed: dict[str, Credentials] = {}
        self._lock = threading.Lock()

    def get(self, account: str | None, region: str | None, role_arn: str | None) -> Destination:
        with self._lock:
            return self._get(account, region, role_arn)

    def of_place(self, place: StackPlace) -> Destination:
        """Where a stack of the inventory lives (its account reached as a deployment's is)."""
        role = None
        if place.account and place.assume_role:
            role = fill_placeholders(place.assume_role, {"account": place.account})
        return self.get(place.account, place.region, role)

    def _get(self, account: str | None, region: str | None, role_arn: str | None) -> Destination:
        key = (account, region)
        if key not in self._destinations:
            if region not in self._bases:
                self._bases[region] = resolve(
                    self._target, region, self._state_dir, self._log, self._assets_bucket
                )
            base = self._bases[region]
            destination = base
            if account:
                destination = self._assume(base, account, _in_partition(role_arn, base))
            self._log(f"target: {destination.describe()}")
            self._destinations[key] = destination
        return self._destinations[key]

    def _assume(self, base: Destination, account: str, role_arn: str) -> Destination:
        """`account` through `role_arn`, with credentials botocore renews before they expire
        (a StackSet rollout can outlive one session); refused unless STS says the role's
        credentials really act in `account`."""
        if role_arn not in self._assumed:
            core = base.session._session
            fetcher = AssumeRoleCredentialFetcher(
                client_creator=functools.partial(
                    core.create_client, endpoint_url=base.endpoint_url, config=CLIENT_CONFIG
                ),
                source_credentials=base.session.get_credentials(),
                role_arn=role_arn,
                extra_args={
                    "RoleSessionName": "jiti-deploy",
                    "DurationSeconds": ASSUMED_ROLE_SECONDS,
                },
            )
            self._assumed[role_arn] = DeferredRefreshableCredentials(
                refresh_using=fetcher.fetch_credentials, method="assume-role"
            )
        destination = base.with_session(_session(base.region, self._assumed[role_arn]))
        if destination.account != account:
            raise DeployError(
                f"the role {role_arn} reaches AWS account {destination.account}, not {account}: "
                "check the deployment's `account` and `assume_role` fields"
            )
        return destination
