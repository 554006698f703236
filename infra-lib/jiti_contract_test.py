"""The plugin writes what the programs read: every record survives the trip through JSON."""

from __future__ import annotations

import json

import pytest

from jiti_contract import (
    Asset,
    Consumer,
    Input,
    Manifest,
    PlaceholderError,
    Plan,
    StackPlace,
    StackSetSettings,
    SynthesisRequest,
    check_parameters,
    check_placeholders,
    fill_placeholders,
    from_json,
    to_json,
)

MANIFEST = Manifest(
    address="apps/demo:stack",
    app="demo",
    version="ab" * 32,
    template="stack.template.json",
    template_sha256="cd" * 32,
    assets=(
        Asset("apps/demo:lambda", "ef" * 32, 12, f"assets/{'ef' * 32}.zip", "stack.assets/x.zip"),
    ),
    parameters={"Environment": {"Type": "String"}},
    tags={"team": "a"},
    description=None,
)
PLAN = Plan(
    address="apps/demo:prod@account=111111111111",
    name="prod-account-111111111111",
    app="demo",
    stack_name="demo-prod",
    environment="prod",
    manifest="apps.demo/stack.manifest.json",
    account="111111111111",
    assume_role="arn:aws:iam::{account}:role/jiti-deploy",
    stack_set=StackSetSettings(("111111111111",), ("eu-west-1",), 25, 0),
    parameters={"Prefix": "shop-{region}"},
    capabilities=("CAPABILITY_IAM",),
    depends_on=("apps/base:prod",),
    inputs=(
        Input(
            "TableArn",
            producer=StackPlace(
                "apps/base:prod@account=111111111111",
                "base-prod",
                "111111111111",
                "us-east-1",
                "arn:aws:iam::{account}:role/jiti-deploy",
            ),
            output="TableArn",
        ),
        Input("Limit", ssm_parameter="/shop/{env}/limit"),
    ),
    consumers=(Consumer(StackPlace("apps/c:prod", "c-prod"), ("QueueUrl", "TopicArn")),),
)


@pytest.mark.parametrize("record", [PLAN, Plan("a:b", "b", "a", "a-dev", "dev", "m.json")])
def test_plan_round_trips(record):
    assert from_json(Plan, to_json(record)) == record


def test_manifest_round_trips_and_shows_the_short_version():
    text = MANIFEST.to_json()
    assert json.loads(text)["version_short"] == "ab" * 6
    assert Manifest.from_json(text) == MANIFEST


def test_synthesis_request_round_trips():
    request = SynthesisRequest("apps/d:stack", "d", "apps/d/infra.py", "apps.d.infra", None, {})
    assert from_json(SynthesisRequest, to_json(request)) == request


def test_unknown_keys_are_refused():
    with pytest.raises(ValueError, match="unknown keys surprise"):
        from_json(Plan, json.dumps({**json.loads(to_json(PLAN)), "surprise": 1}))


def test_placeholders_are_filled_where_known_and_checked_where_written():
    assert fill_placeholders("{app}-{env}-{region}", {"app": "a", "env": "dev"}) == "a-dev-{region}"
    check_placeholders("{app}-{env}", ("app", "env"))
    with pytest.raises(
        PlaceholderError, match=r"uses \{region\}; only \{app\}, \{env\} may be used"
    ):
        check_placeholders("{app}-{region}", ("app", "env"))


def test_an_input_says_where_its_value_comes_from_and_whose_credentials_read_it():
    table, limit = PLAN.inputs
    assert table.source == "apps/base:prod@account=111111111111.TableArn"
    assert table.producer.role_to_assume == "arn:aws:iam::111111111111:role/jiti-deploy"
    assert limit.source == "ssm:/shop/{env}/limit"
    assert StackPlace("a:b", "b-dev", assume_role="arn:{account}").role_to_assume is None


def test_a_no_echo_value_is_never_shown_in_a_problem():
    declared = {
        "Password": {"Type": "String", "NoEcho": "true", "MinLength": 12},
        "Name": {"Type": "String", "MinLength": 12},
    }
    problems = check_parameters(declared, {"Password": "hunter2", "Name": "short"}, set())
    assert problems == [
        "Name='short': 5 characters, the MinLength is 12",
        "Password=(a NoEcho value): 7 characters, the MinLength is 12",
    ]
    assert "hunter2" not in " ".join(problems)
