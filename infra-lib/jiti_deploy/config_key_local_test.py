"""A NoEcho value cannot be recovered from what the stack shows: nothing there lets anyone with
DescribeStacks check a guess offline, and the stack is still redeployed exactly when the
secret changes."""

from __future__ import annotations

import dataclasses

import pytest
from botocore.exceptions import ClientError

from jiti_deploy import deployment as deployment_module
from jiti_deploy import runner
from jiti_deploy.report import Result
from jiti_deploy.testutil import quiet

SECRET_TEMPLATE = {
    "Parameters": {"Password": {"Type": "String", "NoEcho": "true"}},
    "Resources": {"Q": {"Type": "AWS::SQS::Queue"}},
}


def shown(destination, stack: str) -> set[str]:
    """Every value DescribeStacks shows of the stack that jiti writes: tags and outputs
    (CloudFormation shows a NoEcho parameter as `****`)."""
    described = destination.client("cloudformation").describe_stacks(StackName=stack)
    (found,) = described["Stacks"]
    values = {t["Value"] for t in found.get("Tags", [])}
    return values | {o["OutputValue"] for o in found.get("Outputs", []) or []}


def offline_guesses(deployment, values: set[str]) -> list[str]:
    """Every 4-digit secret, hashed into the deployment's settings with each shown value as the
    key material (salt or key), checked against each shown value."""
    material_field = next(
        f.name for f in dataclasses.fields(deployment) if f.name in ("salt", "config_key")
    )
    found = []
    for material in sorted(values):
        for guess in (f"{n:04d}" for n in range(10_000)):
            plan = dataclasses.replace(deployment.plan, parameters={"Password": guess})
            candidate = dataclasses.replace(deployment, plan=plan, **{material_field: material})
            if candidate.config_hash() in values:
                found.append(guess)
    return found


def test_a_short_secret_cannot_be_guessed_from_what_the_stack_shows(destination, make, monkeypatch):
    # However slow a stored hash is made, a 4-digit secret is only a matter of time: make the
    # old slow hash quick here, so that this test shows what an attacker's hours would.
    monkeypatch.setattr(deployment_module, "SECRET_HASH_ROUNDS", 1, raising=False)
    secret = make("pin", SECRET_TEMPLATE, parameters={"Password": "4821"})
    assert runner.deploy(destination, secret, log=quiet) is Result.DEPLOYED
    assert offline_guesses(secret, shown(destination, "pin-dev")) == []

    # Still redeployed exactly when the secret changes.
    assert runner.deploy(destination, secret, log=quiet) is Result.UP_TO_DATE
    changed = make("pin", SECRET_TEMPLATE, parameters={"Password": "4822"})
    assert runner.deploy(destination, changed, log=quiet) is Result.DEPLOYED
    assert runner.deploy(destination, changed, log=quiet) is Result.UP_TO_DATE


def test_the_key_is_a_secure_string_a_dry_run_never_writes(destination, make):
    ssm = destination.client("ssm")
    name = "/jiti/key-vault/config-key"
    secret = make(
        "keyed", SECRET_TEMPLATE, parameters={"Password": "hunter2"}, repository="key-vault"
    )
    assert runner.deploy(destination, secret, dry_run=True, log=quiet) is Result.DRY_RUN
    with pytest.raises(ClientError, match="ParameterNotFound"):
        ssm.get_parameter(Name=name)

    assert runner.deploy(destination, secret, log=quiet) is Result.DEPLOYED
    parameter = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
    assert parameter["Type"] == "SecureString" and len(parameter["Value"]) == 64
    assert parameter["Value"] not in shown(destination, "keyed-dev")
    # A dry run with the key now there sees the stack as it is.
    assert runner.deploy(destination, secret, dry_run=True, log=quiet) is Result.UP_TO_DATE


def test_a_deployment_without_secrets_never_reads_the_key(destination, make):
    plain = make("plainkey", {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}, repository="nokey")
    assert runner.deploy(destination, plain, log=quiet) is Result.DEPLOYED
    with pytest.raises(ClientError, match="ParameterNotFound"):
        destination.client("ssm").get_parameter(Name="/jiti/nokey/config-key")
