"""The assets bucket's protections: private, encrypted, versioned, old versions dropped, TLS
only. Checked on every run that uses the bucket, each setting read once and written only when
it differs: a call that failed in an earlier run, a bucket that existed before jiti, or a
setting someone changed is put right, and a bucket as it should be costs five reads, made
at once."""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor

from botocore.exceptions import ClientError

from jiti_deploy import aws_names

PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
DEFAULT_ENCRYPTION = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
OLD_VERSIONS = {
    "ID": "jiti-old-versions",
    "Status": "Enabled",
    "Filter": {"Prefix": ""},
    "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
}
TLS_ONLY_SID = "JitiTlsOnly"


def tls_only(partition: str, bucket: str) -> dict:
    """The policy statement refusing every request made without TLS."""
    return {
        "Sid": TLS_ONLY_SID,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [
            aws_names.s3_arn(partition, bucket),
            aws_names.s3_arn(partition, bucket, "/*"),
        ],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def read(call, missing: str):
    """What `call` returns, or None when S3 answers the error code `missing` (not set)."""
    try:
        return call()
    except ClientError as e:
        if e.response["Error"]["Code"] == missing:
            return None
        raise


def repair(s3, owned, extra_reads: dict | None = None) -> tuple[list[str], dict]:
    """Check each protection of the bucket (`owned(**kw)`: the arguments naming it and its
    owner) and set those that differ; returns what was set, and what `extra_reads` (name ->
    call) gave. The reads are made at once, each one a round trip less; the writes one by one,
    since S3 refuses concurrent changes to a bucket's configuration (`OperationAborted`)."""
    reads = {name: functools.partial(reader, s3, owned) for name, (reader, _) in CHECKS.items()}
    found = at_once({**reads, **(extra_reads or {})})
    repaired = [name for name, (_, fix) in CHECKS.items() if fix(s3, owned, found[name])]
    return repaired, {name: found[name] for name in extra_reads or {}}


def at_once(calls: dict) -> dict:
    """Each call's result by name, the calls made side by side (boto3 clients are
    thread-safe); the first failure is raised."""
    with ThreadPoolExecutor(len(calls)) as pool:
        futures = {name: pool.submit(call) for name, call in calls.items()}
    return {name: future.result() for name, future in futures.items()}


def _public_access_read(s3, owned):
    return read(
        lambda: s3.get_public_access_block(**owned())["PublicAccessBlockConfiguration"],
        "NoSuchPublicAccessBlockConfiguration",
    )


def _public_access_fix(s3, owned, current) -> bool:
    if current and all(current.get(k) for k in PUBLIC_ACCESS_BLOCK):
        return False
    s3.put_public_access_block(**owned(PublicAccessBlockConfiguration=PUBLIC_ACCESS_BLOCK))
    return True


def _encryption_read(s3, owned):
    return read(
        lambda: s3.get_bucket_encryption(**owned())["ServerSideEncryptionConfiguration"],
        "ServerSideEncryptionConfigurationNotFoundError",
    )


def _encryption_fix(s3, owned, current) -> bool:
    """Any default encryption will do (a KMS key someone chose is kept)."""
    rules = (current or {}).get("Rules", [])
    if any(r.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm") for r in rules):
        return False
    s3.put_bucket_encryption(**owned(ServerSideEncryptionConfiguration=DEFAULT_ENCRYPTION))
    return True


def _versioning_read(s3, owned):
    return s3.get_bucket_versioning(**owned()).get("Status")


def _versioning_fix(s3, owned, status) -> bool:
    if status == "Enabled":
        return False
    s3.put_bucket_versioning(**owned(VersioningConfiguration={"Status": "Enabled"}))
    return True


def _lifecycle_read(s3, owned):
    return read(
        lambda: s3.get_bucket_lifecycle_configuration(**owned())["Rules"],
        "NoSuchLifecycleConfiguration",
    )


def _lifecycle_fix(s3, owned, rules) -> bool:
    """jiti's rule is there as it should be; other rules are kept."""
    rules = rules or []
    if any(_is_old_versions_rule(r) for r in rules):
        return False
    others = [r for r in rules if r.get("ID") != OLD_VERSIONS["ID"]]
    s3.put_bucket_lifecycle_configuration(
        **owned(LifecycleConfiguration={"Rules": [*others, OLD_VERSIONS]})
    )
    return True


# Each protection: how it is read, and how it is set when what was read differs.
CHECKS = {
    "public access block": (_public_access_read, _public_access_fix),
    "default encryption": (_encryption_read, _encryption_fix),
    "versioning": (_versioning_read, _versioning_fix),
    "old versions lifecycle": (_lifecycle_read, _lifecycle_fix),
}


def _is_old_versions_rule(rule: dict) -> bool:
    """The rule as S3 gives it back: S3 may add fields of its own, and the filter on every key
    may come back as no filter."""
    keys = ("ID", "Status", "NoncurrentVersionExpiration", "AbortIncompleteMultipartUpload")
    if not all(_within(OLD_VERSIONS[k], rule.get(k)) for k in keys):
        return False
    rule_filter = rule.get("Filter", {})
    return set(rule_filter) <= {"Prefix"} and rule_filter.get("Prefix", "") == ""


def _within(wanted, actual) -> bool:
    if isinstance(wanted, dict):
        return isinstance(actual, dict) and all(
            _within(v, actual.get(k)) for k, v in wanted.items()
        )
    return wanted == actual


def is_tls_only(statement: dict, partition: str, bucket: str) -> bool:
    """The statement is jiti's TLS-only one, as S3 gives it back (one-item lists and `*`
    principals may come back in another form)."""
    wanted = tls_only(partition, bucket)
    return (
        statement.get("Effect") == "Deny"
        and statement.get("Principal") in ("*", {"AWS": "*"}, {"AWS": ["*"]})
        and _listed(statement.get("Action")) == ["s3:*"]
        and sorted(_listed(statement.get("Resource"))) == sorted(wanted["Resource"])
        and statement.get("Condition") == wanted["Condition"]
    )


def _listed(value) -> list:
    return value if isinstance(value, list) else [value]
