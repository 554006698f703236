"""Content-addressed assets: one bucket per account and region, each key uploaded once.

The bucket's name is guessable (`jiti-assets-<account>-<region>` by default), so another
account could create it first: every call to it says which account must own it
(`ExpectedBucketOwner`), and a bucket owned by someone else is refused, never written to. The
bucket is private, encrypted, TLS-only, versioned, and drops old versions: checked and repaired
on every run that uses it (`bucket_settings`), whoever created it. ARNs and URLs are those of
the region's partition and S3 host (`aws_names`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from dataclasses import dataclass

from botocore.exceptions import ClientError

from jiti_contract import ASSETS_BUCKET_DEFAULT, TEMPLATE_BODY_LIMIT, fill_placeholders
from jiti_deploy import aws_names, bucket_settings, record
from jiti_deploy.deployment import Deployment
from jiti_deploy.destinations import Destination
from jiti_deploy.errors import DeployError

NOT_FOUND = ("404", "NoSuchBucket", "NotFound", "NoSuchKey")
DENIED = ("403", "AccessDenied", "Forbidden")
STACK_SET_READS = "JitiStackSetAssets"  # the policy statement letting other accounts read
# A concurrent deploy's policy write shows after this long; and so many tries at most.
POLICY_SETTLE_S = 2.0
POLICY_ATTEMPTS = 5
_POLICY_WRITES = threading.Lock()


def bucket_name(account: str, region: str, pattern: str = ASSETS_BUCKET_DEFAULT) -> str:
    return fill_placeholders(pattern, {"account": account, "region": region})


@dataclass(frozen=True)
class AssetsBucket:
    """The assets bucket of one destination (account and region), used only as its owner's."""

    destination: Destination

    @property
    def name(self) -> str:
        d = self.destination
        return bucket_name(d.account, d.region, d.assets_bucket)

    @property
    def _s3(self):
        return self.destination.client("s3")

    def _owned(self, **kwargs) -> dict:
        return {"Bucket": self.name, "ExpectedBucketOwner": self.destination.account, **kwargs}

    def _refused(self, e: ClientError) -> DeployError:
        return DeployError(
            f"S3 refused the assets bucket {self.name} to AWS account {self.destination.account} "
            f"({e.response['Error'].get('Code')}): it belongs to another account, or these "
            "credentials may not use it. jiti puts nothing there: delete it if it is yours, or "
            "name the bucket otherwise with [jiti].assets_bucket (e.g. "
            '"acme-jiti-{account}-{region}")'
        )

    @property
    def partition(self) -> str:
        return aws_names.partition(self.destination.session, self.destination.region)

    def url(self, key: str, version: str | None = None) -> str:
        """The object's URL at the bucket's regional host, as CloudFormation takes it."""
        d = self.destination
        return aws_names.object_url(d.session, d.region, self.name, key, version)

    def ensure(self, log=print) -> None:
        """The bucket exists, is this account's, and has its protections (checked, and
        repaired where they differ, once per run and destination)."""
        self.destination.once(f"bucket {self.name}", lambda: self._ensure(log))

    def _ensure(self, log) -> None:
        if not self._exists():
            self._create(log)
        repaired, found = bucket_settings.repair(
            self._s3, self._owned, {"policy": self._policy_statements}
        )
        tls_only = (
            bucket_settings.is_tls_only(s, self.partition, self.name) for s in found["policy"]
        )
        if not any(tls_only):
            with _POLICY_WRITES:  # read again: another deploy of this run may have written it
                if self._tls_policy():
                    repaired.append("TLS-only policy")
        if repaired:
            log(f"assets bucket {self.name}: set {', '.join(repaired)}")

    def _exists(self) -> bool:
        try:
            self._s3.head_bucket(**self._owned())
            return True
        except ClientError as e:
            if e.response["Error"]["Code"] in DENIED:
                raise self._refused(e) from None
            if e.response["Error"]["Code"] not in NOT_FOUND:
                raise
            return False

    def _create(self, log) -> None:
        """Create the bucket; another run of this account that created it first (two first
        deploys racing) is success: S3 answers `BucketAlreadyOwnedByYou`."""
        log(f"creating the assets bucket {self.name}")
        region = self.destination.region
        location = {} if region == "us-east-1" else {"LocationConstraint": region}
        try:
            self._s3.create_bucket(
                Bucket=self.name,
                **({"CreateBucketConfiguration": location} if location else {}),
            )
        except ClientError as e:
            code = e.response["Error"]["Code"]
            if code == "BucketAlreadyExists":  # someone else's name
                raise self._refused(e) from None
            if code != "BucketAlreadyOwnedByYou":
                raise
        self._s3.get_waiter("bucket_exists").wait(**self._owned())

    def _tls_policy(self) -> bool:
        """Add the TLS-only statement if the policy lacks it (or it was changed); keeps the
        rest. Returns whether it was written."""
        statements = self._policy_statements()
        if any(bucket_settings.is_tls_only(s, self.partition, self.name) for s in statements):
            return False
        others = [s for s in statements if s.get("Sid") != bucket_settings.TLS_ONLY_SID]
        self._put_policy([bucket_settings.tls_only(self.partition, self.name), *others])
        return True

    def _policy_statements(self) -> list[dict]:
        policy = bucket_settings.read(
            lambda: self._s3.get_bucket_policy(**self._owned())["Policy"], "NoSuchBucketPolicy"
        )
        return json.loads(policy).get("Statement", []) if policy else []

    def _put_policy(self, statements: list[dict]) -> None:
        policy = {"Version": "2012-10-17", "Statement": statements}
        self._s3.put_bucket_policy(**self._owned(Policy=json.dumps(policy)))

    def allow_reads(self, accounts) -> None:
        """Let `accounts` read the assets (StackSet instances live in other accounts), adding
        them to the accounts the grant already names (other StackSets' instances read the same
        bucket) and keeping the rest of the policy. The policy is one document with no
        conditional write: after a pause it is read again, and written again if a concurrent
        deploy's write dropped these accounts."""
        wanted = {aws_names.account_root(self.partition, a) for a in accounts}
        for attempt in range(POLICY_ATTEMPTS + 1):
            with _POLICY_WRITES:  # the deploys of this run read and write one at a time
                if self._grant(wanted):
                    return
            if attempt < POLICY_ATTEMPTS:
                time.sleep(0.1 if self.destination.local else POLICY_SETTLE_S)
        raise DeployError(
            f"the assets bucket {self.name}: the read grant for AWS accounts "
            f"{', '.join(sorted(accounts))} was overwritten {POLICY_ATTEMPTS} times by concurrent "
            "deploys; run again"
        )

    def _grant(self, wanted: set[str]) -> bool:
        """Whether the read grant names every principal in `wanted`; if not, write it with
        them added to those it names."""
        statements = self._policy_statements()
        granted = _granted(statements)
        if wanted <= granted:
            return True
        others = [s for s in statements if s.get("Sid") != STACK_SET_READS]
        self._put_policy([*others, read_grant(self.partition, self.name, wanted | granted)])
        return False

    def exists(self, key: str) -> bool:
        try:
            self._s3.head_object(**self._owned(Key=key))
            return True
        except ClientError as e:
            if e.response["Error"]["Code"] in NOT_FOUND:
                return False
            if e.response["Error"]["Code"] in DENIED:
                raise self._refused(e) from None
            raise

    def put(self, key: str, body, sha256: str) -> str | None:
        """Put `body` (bytes or a file) at `key`, in one part, with its SHA-256 for S3 to check
        and keep; returns the version S3 made of it, if S3's answer shows it holds these bytes
        (S3 refuses a body whose checksum is not the one sent: `BadDigest`, S3 API reference,
        PutObject), else None."""
        response = self._s3.put_object(
            **self._owned(
                Key=key, Body=body, ChecksumAlgorithm="SHA256", ChecksumSHA256=_b64(sha256)
            )
        )
        version = response.get("VersionId")
        if response.get("ChecksumSHA256") != _b64(sha256) or version in (None, "null"):
            return None
        return version

    def stored_version(self, key: str, sha256: str) -> tuple[bool, str | None]:
        """Whether an object is at `key`, and its version if it holds the bytes whose SHA-256
        is `sha256` (hex), as S3 computed it on upload; None if it holds other bytes, was put
        without a checksum, or has no version of its own to pin."""
        try:
            head = self._s3.head_object(**self._owned(Key=key, ChecksumMode="ENABLED"))
        except ClientError as e:
            if e.response["Error"]["Code"] in NOT_FOUND:
                return False, None
            if e.response["Error"]["Code"] in DENIED:
                raise self._refused(e) from None
            raise
        version = head.get("VersionId")
        if head.get("ChecksumSHA256") != _b64(sha256) or version in (None, "null"):
            return True, None
        return True, version

    def upload(self, deployment: Deployment, *, dry_run: bool = False, log=print) -> dict:
        """Make sure each asset in the bucket is the version's bytes, uploading it if it is
        missing or is not (reported: someone else may write to the bucket); returns each
        asset's S3 version by key, to pin. A dry run uploads nothing: it returns the versions
        that are right already."""
        versions = {}
        for asset in deployment.manifest.assets:
            present, version = self.stored_version(asset.key, asset.sha256)
            if version is None and not dry_run:
                version = self._upload(deployment, asset, present, log)
                version = version or self._checked(asset.key, asset.sha256)
            if version:
                versions[asset.key] = version
        return versions

    def _upload(self, deployment: Deployment, asset, present: bool, log) -> str | None:
        """Upload the asset's file; the version made of it, as `put` gives it."""
        where = f"s3://{self.name}/{asset.key}"
        if present:
            log(
                f"{where} is not the bytes of {asset.address} (its SHA-256 checksum is missing "
                "or differs): uploading it again"
            )
        else:
            log(f"uploading {asset.address} -> {where} ({asset.size} bytes)")
        with open(deployment.asset_path(asset), "rb") as body:  # read as it is sent
            return self.put(asset.key, body, asset.sha256)

    def _checked(self, key: str, sha256: str) -> str:
        """The version just uploaded, read back where S3's answer to the upload did not show it
        (an unversioned answer): it must hold the bytes, or someone wrote to the key right
        after."""
        _, version = self.stored_version(key, sha256)
        if version is None:
            raise DeployError(
                f"s3://{self.name}/{key} changed right after jiti uploaded it (its checksum is "
                "not the asset's): someone else writes to the assets bucket"
            )
        return version

    def template_argument(self, deployment: Deployment, *, dry_run: bool, log=print) -> dict | None:
        """How CloudFormation gets the template: inline up to TEMPLATE_BODY_LIMIT bytes, else
        from this bucket (uploaded once, by content, and read at the version checked). None
        for a dry run that would have to upload it first (a dry run writes nothing). The text
        is the packaged template with the deploy's record (`record.py`)."""
        text = record.template_text(deployment)
        if len(text.encode()) <= TEMPLATE_BODY_LIMIT:
            return {"TemplateBody": text}
        sha256 = hashlib.sha256(text.encode()).hexdigest()
        key = f"templates/{sha256}.json"
        present, version = self.stored_version(key, sha256)
        if version is None:
            if dry_run:
                return None
            self.ensure()
            if present:
                log(
                    f"s3://{self.name}/{key} is not this template (its SHA-256 checksum is "
                    "missing or differs): uploading it again"
                )
            version = self.put(key, text.encode(), sha256) or self._checked(key, sha256)
        return {"TemplateURL": self.url(key, version)}


def _b64(sha256_hex: str) -> str:
    """A SHA-256 as S3 gives it (`ChecksumSHA256`: base64 of the digest)."""
    return base64.b64encode(bytes.fromhex(sha256_hex)).decode()


def read_grant(partition: str, bucket: str, principals) -> dict:
    """The statement letting `principals` (account ids, or the ARNs S3 gives back) read the
    assets."""
    arns = sorted({p if ":" in p else aws_names.account_root(partition, p) for p in principals})
    return {
        "Sid": STACK_SET_READS,
        "Effect": "Allow",
        "Principal": {"AWS": arns},
        "Action": "s3:GetObject",
        "Resource": aws_names.s3_arn(partition, bucket, "/assets/*"),
    }


def _granted(statements: list[dict]) -> set[str]:
    """The principals the read grant names now (S3 gives one back as a string, not a list)."""
    for s in statements:
        if s.get("Sid") == STACK_SET_READS:
            principals = s.get("Principal", {}).get("AWS", [])
            return set(principals if isinstance(principals, list) else [principals])
    return set()
