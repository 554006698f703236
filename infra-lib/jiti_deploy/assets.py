"""Content-addressed assets: one bucket per account and region, each key uploaded once.

The bucket's name is guessable (`jiti-assets-<account>-<region>` by default), so another
account could create it first: every call to it says which account must own it
(`ExpectedBucketOwner`), and a bucket owned by someone else is refused, never written to. A
bucket jiti creates is private, encrypted, TLS-only, versioned, and drops old versions.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from botocore.exceptions import ClientError

from jiti_contract import ASSETS_BUCKET_DEFAULT, TEMPLATE_BODY_LIMIT, fill_placeholders
from jiti_deploy import record
from jiti_deploy.deployment import Deployment
from jiti_deploy.destinations import Destination
from jiti_deploy.errors import DeployError

NOT_FOUND = ("404", "NoSuchBucket", "NotFound", "NoSuchKey")
DENIED = ("403", "AccessDenied", "Forbidden")
STACK_SET_READS = "JitiStackSetAssets"  # the policy statement letting other accounts read


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

    def ensure(self, log=print) -> None:
        """The bucket exists and is this account's (checked once per run and destination)."""
        self.destination.once(f"bucket {self.name}", lambda: self._ensure(log))

    def _ensure(self, log) -> None:
        try:
            self._s3.head_bucket(**self._owned())
            return
        except ClientError as e:
            if e.response["Error"]["Code"] in DENIED:
                raise self._refused(e) from None
            if e.response["Error"]["Code"] not in NOT_FOUND:
                raise
        log(f"creating the assets bucket {self.name}")
        region = self.destination.region
        location = {} if region == "us-east-1" else {"LocationConstraint": region}
        try:
            self._s3.create_bucket(
                Bucket=self.name,
                **({"CreateBucketConfiguration": location} if location else {}),
            )
        except ClientError as e:
            if e.response["Error"]["Code"] == "BucketAlreadyExists":  # someone else's name
                raise self._refused(e) from None
            raise
        self._s3.get_waiter("bucket_exists").wait(**self._owned())
        self._harden()

    def _harden(self) -> None:
        s3 = self._s3
        s3.put_public_access_block(
            **self._owned(
                PublicAccessBlockConfiguration={
                    "BlockPublicAcls": True,
                    "IgnorePublicAcls": True,
                    "BlockPublicPolicy": True,
                    "RestrictPublicBuckets": True,
                }
            )
        )
        s3.put_bucket_encryption(
            **self._owned(
                ServerSideEncryptionConfiguration={
                    "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
                }
            )
        )
        s3.put_bucket_versioning(**self._owned(VersioningConfiguration={"Status": "Enabled"}))
        s3.put_bucket_lifecycle_configuration(
            **self._owned(
                LifecycleConfiguration={
                    "Rules": [
                        {
                            "ID": "jiti-old-versions",
                            "Status": "Enabled",
                            "Filter": {"Prefix": ""},
                            "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
                            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
                        }
                    ]
                }
            )
        )
        self._put_policy([_tls_only(self.name)])

    def _policy_statements(self) -> list[dict]:
        try:
            policy = self._s3.get_bucket_policy(**self._owned())["Policy"]
        except ClientError as e:
            if e.response["Error"]["Code"] == "NoSuchBucketPolicy":
                return []
            raise
        return json.loads(policy).get("Statement", [])

    def _put_policy(self, statements: list[dict]) -> None:
        policy = {"Version": "2012-10-17", "Statement": statements}
        self._s3.put_bucket_policy(**self._owned(Policy=json.dumps(policy)))

    def allow_reads(self, accounts) -> None:
        """Let other accounts read the assets (StackSet instances live in other accounts),
        keeping the rest of the bucket policy."""
        statements = [s for s in self._policy_statements() if s.get("Sid") != STACK_SET_READS]
        statements.append(
            {
                "Sid": STACK_SET_READS,
                "Effect": "Allow",
                "Principal": {"AWS": [f"arn:aws:iam::{a}:root" for a in sorted(accounts)]},
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{self.name}/assets/*",
            }
        )
        self._put_policy(statements)

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

    def put(self, key: str, body: bytes) -> None:
        self._s3.put_object(**self._owned(Key=key, Body=body))

    def upload(self, deployment: Deployment, log=print) -> int:
        """Upload the deployment's assets the bucket lacks; returns how many were uploaded."""
        uploaded = 0
        for asset in deployment.manifest.assets:
            if self.exists(asset.key):
                continue
            log(f"uploading {asset.address} -> s3://{self.name}/{asset.key} ({asset.size} bytes)")
            self._s3.upload_file(  # the transfer manager: multipart and retries for big assets
                str(deployment.asset_path(asset)),
                self.name,
                asset.key,
                ExtraArgs={"ExpectedBucketOwner": self.destination.account},
            )
            uploaded += 1
        return uploaded

    def template_argument(self, deployment: Deployment, *, dry_run: bool) -> dict | None:
        """How CloudFormation gets the template: inline up to TEMPLATE_BODY_LIMIT bytes, else
        from this bucket (uploaded once, by content). None for a dry run that would have to
        upload it first (a dry run writes nothing). The text is the packaged template with the
        deploy's record (`record.py`)."""
        text = record.template_text(deployment)
        if len(text.encode()) <= TEMPLATE_BODY_LIMIT:
            return {"TemplateBody": text}
        key = f"templates/{hashlib.sha256(text.encode()).hexdigest()}.json"
        if not self.exists(key):
            if dry_run:
                return None
            self.ensure()
            self.put(key, text.encode())
        return {"TemplateURL": f"https://{self.name}.s3.amazonaws.com/{key}"}


def _tls_only(bucket: str) -> dict:
    return {
        "Sid": "JitiTlsOnly",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
