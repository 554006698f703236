"""Where the end-to-end tests deploy: the local AWS each test repository starts (the default, and
what CI runs), or a real sandbox account, chosen by one setting, `JITI_E2E_TARGET=aws`.

Against a sandbox account, each test repository is a run of its own: its deployments take the
environment `e2e<random>` instead of `dev` (so its stack names, physical names and exports are
its own), its `[jiti].repository` is that run's (so prune sees only its stacks), the copies that
need other accounts are left out (a sandbox is one account), and everything the run created is
removed at its end. Tests that need what only the local AWS gives (injected faults, any account
through STS, its own state) are marked `local_only` and skipped there.
"""

from __future__ import annotations

import ast
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import boto3

TARGETS = ("local", "aws")
SANDBOX_REGIONS = ("us-east-1", "eu-west-1")  # where the sample apps and tests deploy


def target() -> str:
    value = os.environ.get("JITI_E2E_TARGET", "local")
    if value not in TARGETS:
        raise SystemExit(f"JITI_E2E_TARGET={value!r}: expected one of {', '.join(TARGETS)}")
    return value


@dataclass(frozen=True)
class Run:
    """One test repository's identity where it deploys."""

    environment: str  # the sample apps' environment, `dev` on the local AWS
    repository: str | None  # the `[jiti].repository` of a sandbox run

    @classmethod
    def new(cls) -> "Run":
        if target() == "local":
            return cls("dev", None)
        run_id = "e2e" + secrets.token_hex(4)
        return cls(run_id, f"jiti-{run_id}")

    @property
    def sandbox(self) -> bool:
        return self.repository is not None

    @property
    def target(self) -> str:
        """What the run's deploys say where they go (`target` in the report)."""
        return "aws" if self.sandbox else "local"

    def stack(self, app: str) -> str:
        """The stack name of an app's `deploy` deployment in this run."""
        return f"{app}-{self.environment}"

    def pants_env(self) -> dict:
        """What a `./pants` run of this test repository gets besides a user's plain environment."""
        if not self.sandbox:
            return {}
        aws = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
        return {**aws, "PANTS_JITI_TARGET": "aws", "PANTS_JITI_REPOSITORY": self.repository}

    def prepare(self, root: Path) -> None:
        """Make a copied repository this run's: its environment, and only this account."""
        if not self.sandbox:
            return
        for build in (root / "apps").glob("*/BUILD"):
            text = without_other_accounts(build.read_text())
            build.write_text(text.replace('environment="dev"', f'environment="{self.environment}"'))

    def client(self, service: str, region: str, endpoint: str | None, credentials: dict):
        if self.sandbox:
            return boto3.client(service, region_name=region)
        return boto3.client(
            service,
            endpoint_url=endpoint,
            region_name=region,
            aws_access_key_id=credentials.get("AccessKeyId", "jiti-local"),
            aws_secret_access_key=credentials.get("SecretAccessKey", "jiti-local"),
            aws_session_token=credentials.get("SessionToken"),
        )

    def clean_up(self) -> list[str]:
        """Remove what this sandbox run created: its stacks (by id), then what they kept
        (retained tables, buckets, log groups named for its environment). Returns what failed."""
        if not self.sandbox:
            return []
        problems = []
        for region in SANDBOX_REGIONS:
            problems += _delete_stacks(self, region)
            _delete_tables_and_log_groups(self, region)
        return problems + _delete_buckets(self)


def without_other_accounts(build_file: str) -> str:
    """A BUILD file without its deployments to other accounts (and the comments above them)."""
    lines = build_file.splitlines(keepends=True)
    for call in reversed(ast.parse(build_file).body):
        value = getattr(call, "value", None)
        if (
            isinstance(value, ast.Call)
            and getattr(value.func, "id", None) == "cloudformation_deployment"
            and any(k.arg == "account" for k in value.keywords)
        ):
            start = call.lineno - 1
            while start > 0 and lines[start - 1].startswith("#"):
                start -= 1
            del lines[start : call.end_lineno]
    return "".join(lines)


def _delete_stacks(run: Run, region: str) -> list[str]:
    cfn = boto3.client("cloudformation", region_name=region)
    ids = [
        s["StackId"]
        for page in cfn.get_paginator("describe_stacks").paginate()
        for s in page["Stacks"]
        if (
            {"Key": "jiti:repository", "Value": run.repository} in s.get("Tags", [])
            or run.environment in s["StackName"]  # what a test made outside jiti
        )
        and not s.get("ParentId")
    ]
    for stack_id in ids:
        cfn.update_termination_protection(StackName=stack_id, EnableTerminationProtection=False)
        cfn.delete_stack(StackName=stack_id)
    problems = []
    for stack_id in ids:
        try:
            cfn.get_waiter("stack_delete_complete").wait(StackName=stack_id)
        except Exception as e:  # noqa: BLE001 - reported, the rest is still cleaned up
            problems.append(f"{stack_id}: {e}")
    return problems


def _delete_tables_and_log_groups(run: Run, region: str) -> None:
    """Tables and log groups named for the run's environment (tables are retained by design;
    Lambda writes its log groups itself)."""
    dynamodb = boto3.client("dynamodb", region_name=region)
    for page in dynamodb.get_paginator("list_tables").paginate():
        for name in page["TableNames"]:
            if run.environment in name:
                dynamodb.delete_table(TableName=name)
    logs = boto3.client("logs", region_name=region)
    for page in logs.get_paginator("describe_log_groups").paginate():
        for group in page["logGroups"]:
            if run.environment in group["logGroupName"]:
                logs.delete_log_group(logGroupName=group["logGroupName"])


def _delete_buckets(run: Run) -> list[str]:
    """Buckets named for the run's environment, every object version first."""
    problems = []
    for bucket in boto3.resource("s3").buckets.all():
        if run.environment not in bucket.name:
            continue
        region = boto3.client("s3").get_bucket_location(Bucket=bucket.name)["LocationConstraint"]
        regional = boto3.resource("s3", region_name=region or "us-east-1").Bucket(bucket.name)
        try:
            regional.object_versions.delete()
            regional.delete()
        except Exception as e:  # noqa: BLE001 - reported, the rest is still cleaned up
            problems.append(f"bucket {bucket.name}: {e}")
    return problems
