"""Apps that share, against the local AWS (a patched moto server in this process): a deployment
takes another's stack outputs (in any account and region, read with the producer's
credentials) and plain SSM values as parameter values, redeploys exactly when one changes,
and a producer cannot drop an output a live consumer takes. Secrets never show."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jiti_contract import CONFIG_OUTPUT, VERSION_OUTPUT, Consumer, Input, StackPlace
from jiti_deploy import batch, local_aws, runner
from jiti_deploy.destinations import Destinations
from jiti_deploy.errors import DeployError
from jiti_deploy.live import LiveStack, LiveStacks
from jiti_deploy.report import Result
from jiti_deploy.testutil import quiet

REGION = "us-east-1"
QUEUE = {"Q": {"Type": "AWS::SQS::Queue"}}
# A producer whose output `Colour` is whatever its parameter says, so tests can change it.
PRODUCER = {
    "Parameters": {"Colour": {"Type": "String"}},
    "Resources": QUEUE,
    "Outputs": {"Colour": {"Value": {"Ref": "Colour"}}, "QueueUrl": {"Value": {"Ref": "Q"}}},
}
CONSUMER = {
    "Parameters": {"Colour": {"Type": "String"}},
    "Resources": QUEUE,
    "Outputs": {"Seen": {"Value": {"Ref": "Colour"}}},
}


@pytest.fixture
def destinations(endpoint, tmp_path, monkeypatch) -> Destinations:
    monkeypatch.setattr(
        local_aws, "ensure_running", lambda state_dir, log=print: local_aws.LocalAws(endpoint, 0)
    )
    return Destinations("local", Path(tmp_path), log=quiet)


def place(name: str, **where) -> StackPlace:
    return StackPlace(f"apps/{name}:deploy", f"{name}-dev", region=REGION, **where)


def producer(make, name: str, colour: str, consumers=(), template=PRODUCER, **where):
    return make(
        name, template, parameters={"Colour": colour}, region=REGION, consumers=consumers, **where
    )


def consumer(make, name: str, source: StackPlace, template=CONSUMER, **where):
    return make(
        name,
        template,
        region=REGION,
        inputs=(Input("Colour", producer=source, output="Colour"),),
        depends_on=(source.address,),
        **where,
    )


def deploy(destinations: Destinations, deployment, **kwargs) -> Result:
    plan = deployment.plan
    destination = destinations.get(plan.account, plan.region, deployment.role_to_assume)
    kwargs.setdefault("log", quiet)
    return runner.deploy(destination, deployment, stacks=LiveStacks(destinations), **kwargs)


def stack(destinations: Destinations, name: str, account=None, role=None) -> dict:
    cfn = destinations.get(account, REGION, role).client("cloudformation")
    return cfn.describe_stacks(StackName=name)["Stacks"][0]


def parameter(description: dict, key: str) -> str:
    return {p["ParameterKey"]: p["ParameterValue"] for p in description["Parameters"]}[key]


def tags(description: dict) -> dict:
    return {t["Key"]: t["Value"] for t in description["Tags"]}


def recorded(description: dict) -> dict:
    """jiti's record of the stack: its version, config hash and commit (outputs)."""
    return LiveStack.from_description(description).record


def test_a_consumer_redeploys_exactly_when_a_value_it_takes_changes(destinations, make):
    deploy(destinations, producer(make, "paint", "blue"))
    logged = []
    assert deploy(destinations, consumer(make, "wall", place("paint")), log=logged.append) is (
        Result.DEPLOYED
    )
    assert parameter(stack(destinations, "wall-dev"), "Colour") == "blue"
    assert "  input Colour = blue  <- apps/paint:deploy.Colour" in logged

    # The producer changes, but not the output: the consumer is up to date.
    changed = make(
        "paint",
        {**PRODUCER, "Resources": {**QUEUE, "R": QUEUE["Q"]}},
        parameters={"Colour": "blue"},
        region=REGION,
    )
    assert deploy(destinations, changed) is Result.DEPLOYED
    assert deploy(destinations, consumer(make, "wall", place("paint"))) is Result.UP_TO_DATE

    # The output's value changes: the consumer redeploys with it.
    deploy(destinations, producer(make, "paint", "green"))
    assert deploy(destinations, consumer(make, "wall", place("paint"))) is Result.DEPLOYED
    assert parameter(stack(destinations, "wall-dev"), "Colour") == "green"
    assert deploy(destinations, consumer(make, "wall", place("paint"))) is Result.UP_TO_DATE


def test_a_producer_in_another_account_and_region_is_read_with_its_own_credentials(
    destinations, make
):
    """The consumer's account has no such stack: only the producer's credentials find it."""
    role = "arn:aws:iam::{account}:role/jiti-deploy"
    source = StackPlace("apps/far:deploy", "far-dev", "111111111111", "eu-west-1", role)
    far = make(
        "far",
        PRODUCER,
        parameters={"Colour": "red"},
        account="111111111111",
        region="eu-west-1",
        assume_role=role,
    )
    deploy(destinations, far)
    near = consumer(make, "near", source, account="222222222222", assume_role=role)
    assert deploy(destinations, near) is Result.DEPLOYED
    described = stack(
        destinations, "near-dev", "222222222222", "arn:aws:iam::222222222222:role/jiti-deploy"
    )
    assert parameter(described, "Colour") == "red"


def test_a_batch_deploys_the_producer_first_and_reads_it_once(proxy, make, tmp_path):
    both = [consumer(make, "roof", place("tile")), producer(make, "tile", "slate")]
    outcomes = batch.run(
        Destinations("aws", tmp_path), both, dry_run=False, max_parallel=2, log=quiet
    )
    assert [o.result for o in outcomes] == [Result.DEPLOYED, Result.DEPLOYED]
    assert parameter(stack(Destinations("aws", tmp_path), "roof-dev"), "Colour") == "slate"

    # The consumer alone, its producer live: one read for both stacks, and nothing else.
    proxy.take()
    again = batch.run(
        Destinations("aws", tmp_path),
        [consumer(make, "roof", place("tile"))],
        dry_run=False,
        max_parallel=1,
        log=quiet,
    )
    assert [o.result for o in again] == [Result.UP_TO_DATE]
    calls = proxy.take()
    assert calls["cloudformation:DescribeStacks"] == 1
    assert {op for op in calls if op.startswith("cloudformation:")} == {
        "cloudformation:DescribeStacks"
    }


def test_a_dry_run_shows_a_pending_value_and_a_real_run_refuses_before_any_write(
    destinations, make
):
    waiting = consumer(make, "early", place("late"))
    logged = []
    assert deploy(destinations, waiting, dry_run=True, log=logged.append) is Result.DRY_RUN
    text = "\n".join(logged)
    assert "input Colour = (pending: apps/late:deploy is not deployed yet" in text
    assert "+ Add     Q" in text
    with pytest.raises(DeployError, match=r"apps/early:deploy: input Colour .* deploy apps/late"):
        deploy(destinations, waiting)
    cfn = destinations.get(None, REGION, None).client("cloudformation")
    pages = cfn.get_paginator("describe_stacks").paginate()
    assert "early-dev" not in {s["StackName"] for page in pages for s in page["Stacks"]}


def test_dropping_an_output_a_live_consumer_takes_is_refused_naming_it(destinations, make):
    uses = (Consumer(place("lamp"), ("Colour",)),)
    deploy(destinations, producer(make, "bulb", "warm", uses))
    without = {**PRODUCER, "Outputs": {"QueueUrl": PRODUCER["Outputs"]["QueueUrl"]}}
    # No consumer is live yet: the output may go.
    dropped = producer(make, "bulb", "warm", uses, template=without)
    assert deploy(destinations, dropped) is Result.DEPLOYED
    deploy(destinations, producer(make, "bulb", "warm", uses))
    deploy(destinations, consumer(make, "lamp", place("bulb")))
    before = recorded(stack(destinations, "bulb-dev"))[VERSION_OUTPUT]

    dropped = producer(make, "bulb", "warm", uses, template=without)
    with pytest.raises(DeployError) as refused:
        deploy(destinations, dropped, dry_run=True)
    with pytest.raises(DeployError) as refused:
        deploy(destinations, dropped)
    assert str(refused.value).splitlines() == [
        "apps/bulb:deploy: the new template of bulb-dev has no output Colour, which live "
        "deployments take as inputs:",
        "  apps/lamp:deploy (stack lamp-dev in us-east-1) takes Colour",
        "Deploy them without those inputs first, then apps/bulb:deploy; nothing was changed",
    ]
    assert recorded(stack(destinations, "bulb-dev"))[VERSION_OUTPUT] == before


def test_a_plain_ssm_value_is_read_at_deploy_time_and_a_secure_string_is_refused(
    destinations, make
):
    ssm = destinations.get(None, REGION, None).client("ssm")
    ssm.put_parameter(Name="/shop/dev/colour", Value="teal", Type="String", Overwrite=True)
    reads = make(
        "ssm-reader",
        CONSUMER,
        region=REGION,
        inputs=(Input("Colour", ssm_parameter="/shop/{env}/colour"),),
    )
    assert deploy(destinations, reads) is Result.DEPLOYED
    assert parameter(stack(destinations, "ssm-reader-dev"), "Colour") == "teal"
    assert deploy(destinations, reads) is Result.UP_TO_DATE
    ssm.put_parameter(Name="/shop/dev/colour", Value="navy", Type="String", Overwrite=True)
    assert deploy(destinations, reads) is Result.DEPLOYED
    assert parameter(stack(destinations, "ssm-reader-dev"), "Colour") == "navy"

    ssm.put_parameter(Name="/shop/dev/secret", Value="s3cr3t", Type="SecureString")
    secret = make(
        "ssm-secret",
        CONSUMER,
        region=REGION,
        inputs=(Input("Colour", ssm_parameter="/shop/dev/secret"),),
    )
    with pytest.raises(DeployError) as refused:
        deploy(destinations, secret)
    assert "is a SecureString, and jiti never reads secrets" in str(refused.value)
    assert "`{{resolve:ssm-secure:/shop/dev/secret}}`" in str(refused.value)
    assert "s3cr3t" not in str(refused.value)


SECRET_TEMPLATE = {
    "Parameters": {"Password": {"Type": "String", "NoEcho": "true"}},
    "Resources": QUEUE,
}


def test_no_echo_values_never_show_and_are_hashed_under_a_key_kept_off_the_stack(
    destinations, make, tmp_path
):
    ssm = destinations.get(None, REGION, None).client("ssm")
    ssm.put_parameter(Name="/vault/pw", Value="correct-horse", Type="String", Overwrite=True)
    report = tmp_path / "report.json"

    def deployments():
        return [
            make(
                name,
                SECRET_TEMPLATE,
                region=REGION,
                inputs=(Input("Password", ssm_parameter="/vault/pw"),),
            )
            for name in ("vault-a", "vault-b")
        ]

    logged = []
    outcomes = batch.run(
        destinations, deployments(), dry_run=False, max_parallel=2, log=logged.append
    )
    assert [o.result for o in outcomes] == [Result.DEPLOYED] * 2
    assert "  input Password = **** (NoEcho)  <- ssm:/vault/pw" in "\n".join(logged)
    a, b = (stack(destinations, f"vault-{x}-dev") for x in "ab")
    key = ssm.get_parameter(Name="/jiti/config-key", WithDecryption=True)["Parameter"]["Value"]
    assert recorded(a)[CONFIG_OUTPUT] != recorded(b)[CONFIG_OUTPUT]  # their addresses differ
    assert key not in json.dumps([a, b], default=str)  # nor anything from which to guess
    from jiti_deploy import report as reports

    reports.write(report, outcomes, 1.0)
    on_stacks = [(tags(x), LiveStack.from_description(x).outputs, recorded(x)) for x in (a, b)]
    seen = "\n".join(logged) + report.read_text() + json.dumps(on_stacks)
    assert "correct-horse" not in seen

    again = batch.run(destinations, deployments(), dry_run=False, max_parallel=2, log=quiet)
    assert [o.result for o in again] == [Result.UP_TO_DATE] * 2
    ssm.put_parameter(Name="/vault/pw", Value="battery-staple", Type="String", Overwrite=True)
    changed = batch.run(destinations, deployments(), dry_run=False, max_parallel=2, log=quiet)
    assert [o.result for o in changed] == [Result.DEPLOYED] * 2
    assert recorded(stack(destinations, "vault-a-dev"))[CONFIG_OUTPUT] != recorded(a)[CONFIG_OUTPUT]
