"""The assets bucket's protections: private, encrypted, versioned, old versions dropped, TLS
only. Checked on every run that uses the bucket, each setting read once and written only when
it differs: a call that failed in an earlier run, a bucket that existed before jiti, or a
setting someone changed is put right, and a bucket as it should be costs five reads."""

from __future__ import annotations

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


def repair(s3, owned) -> list[str]:
    """Check each protection of the bucket (`owned(**kw)`: the arguments naming it and its
    owner) and set those that differ; returns what was set."""
    checks = {
        "public access block": _public_access,
        "default encryption": _encryption,
        "versioning": _versioning,
        "old versions lifecycle": _lifecycle,
    }
    return [name for name, check in checks.items() if check(s3, owned)]


def _public_access(s3, owned) -> bool:
    current = read(
        lambda: s3.get_public_access_block(**owned())["PublicAccessBlockConfiguration"],
        "NoSuchPublicAccessBlockConfiguration",
    )
    if current and all(current.get(k) for k in PUBLIC_ACCESS_BLOCK):
        return False
    s3.put_public_access_block(**owned(PublicAccessBlockConfiguration=PUBLIC_ACCESS_BLOCK))
    return True


def _encryption(s3, owned) -> bool:
    """Any default encryption will do (a KMS key someone chose is kept)."""
    current = read(
        lambda: s3.get_bucket_encryption(**owned())["ServerSideEncryptionConfiguration"],
        "ServerSideEncryptionConfigurationNotFoundError",
    )
    rules = (current or {}).get("Rules", [])
    if any(r.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm") for r in rules):
        return False
    s3.put_bucket_encryption(**owned(ServerSideEncryptionConfiguration=DEFAULT_ENCRYPTION))
    return True


def _versioning(s3, owned) -> bool:
    if s3.get_bucket_versioning(**owned()).get("Status") == "Enabled":
        return False
    s3.put_bucket_versioning(**owned(VersioningConfiguration={"Status": "Enabled"}))
    return True


def _lifecycle(s3, owned) -> bool:
    """jiti's rule is there as it should be; other rules are kept."""
    rules = read(
        lambda: s3.get_bucket_lifecycle_configuration(**owned())["Rules"],
        "NoSuchLifecycleConfiguration",
    )
    rules = rules or []
    if any(_is_old_versions_rule(r) for r in rules):
        return False
    others = [r for r in rules if r.get("ID") != OLD_VERSIONS["ID"]]
    s3.put_bucket_lifecycle_configuration(
        **owned(LifecycleConfiguration={"Rules": [*others, OLD_VERSIONS]})
    )
    return True


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
