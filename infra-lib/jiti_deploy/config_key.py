"""The key NoEcho values are hashed with before they enter a deployment's config hash.

The config hash is on the stack, where anyone with DescribeStacks reads it; a hash of a short
secret alone, or with a salt stored beside it, can be guessed offline. So NoEcho values are
hashed with HMAC-SHA256 under a random key that is never on the stack: one per account and
region, in an SSM SecureString parameter, made on first need. The hash still changes exactly
when a secret does, so the stack is redeployed exactly then.
"""

from __future__ import annotations

import re
import secrets

from botocore.exceptions import ClientError

from jiti_deploy.deployment import Deployment
from jiti_deploy.destinations import Destination

KEY_BYTES = 32


def parameter_name(repository: str | None) -> str:
    """`/jiti/<repository>/config-key` (characters SSM refuses in a name become `-`)."""
    if not repository:
        return "/jiti/config-key"
    return f"/jiti/{re.sub(r'[^a-zA-Z0-9_.-]', '-', repository)}/config-key"


def _read(ssm, name: str) -> str | None:
    try:
        return ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    except ClientError as e:
        if e.response["Error"]["Code"] == "ParameterNotFound":
            return None
        raise


def _create(ssm, name: str) -> str:
    """A new key; if another run made one first, that one (read again)."""
    key = secrets.token_hex(KEY_BYTES)
    try:
        ssm.put_parameter(
            Name=name,
            Value=key,
            Type="SecureString",
            Overwrite=False,
            Description="jiti: the key NoEcho values are hashed with; never on a stack",
        )
        return key
    except ClientError as e:
        if e.response["Error"]["Code"] != "ParameterAlreadyExists":
            raise
    found = _read(ssm, name)
    if found is None:
        raise RuntimeError(f"the SSM parameter {name} exists and cannot be read")
    return found


def keyed(deployment: Deployment, destination: Destination, *, dry_run: bool) -> Deployment:
    """The deployment with the key, read only when it has NoEcho values. A dry run never makes
    one: without it, each NoEcho value simply counts as changed."""
    if not deployment.has_secret_values:
        return deployment
    ssm = destination.client("ssm")
    name = parameter_name(deployment.plan.repository)
    key = _read(ssm, name)
    if key is None:
        key = secrets.token_hex(KEY_BYTES) if dry_run else _create(ssm, name)
    return deployment.keyed(key)
