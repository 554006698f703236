"""The plugin writes what the programs read: every record survives the trip through JSON."""

from __future__ import annotations

import json
import time

import pytest

from jiti_contract import (
    PATTERN_TIMEOUT_S,
    TAG_VALUE_LIMIT,
    Asset,
    Consumer,
    Input,
    Inventory,
    InvokeRequest,
    Manifest,
    PlaceholderError,
    Plan,
    PreviewSettings,
    StackPlace,
    StackSetSettings,
    SynthesisRequest,
    check_parameters,
    check_placeholders,
    default_stack_policy,
    depends_on_from_tags,
    depends_on_tags,
    fill_placeholders,
    from_json,
    retained_resources,
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
    repository="shop",
    stack_policy=default_stack_policy(("Table",)),
    rollback_alarms=("errors", "arn:aws:cloudwatch:eu-west-1:111111111111:alarm:latency"),
    rollback_monitoring_minutes=10,
    notification_arns=("arn:aws:sns:eu-west-1:111111111111:deploys",),
    disable_rollback=True,
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


PREVIEW_PLAN = Plan(
    "a:b", "b-pr-7", "a", "a-pr-7", "pr-7", "m.json", preview=PreviewSettings("pr-7", "dev", 72)
)


@pytest.mark.parametrize(
    "record", [PLAN, PREVIEW_PLAN, Plan("a:b", "b", "a", "a-dev", "dev", "m.json")]
)
def test_plan_round_trips(record):
    assert from_json(Plan, to_json(record)) == record


def test_inventory_round_trips():
    inventory = Inventory(
        "shop",
        (
            StackPlace("apps/a:deploy", "a-dev"),
            StackPlace("apps/b:prod", "b-prod", "111111111111", "eu-west-1", "arn:{account}", True),
        ),
    )
    assert from_json(Inventory, to_json(inventory)) == inventory


def test_invoke_request_round_trips_with_and_without_its_stack():
    deployed = InvokeRequest(
        "apps/a:lambda",
        "apps.a.handler:handle",
        "python3.11",
        "lambda.pex_bin_python_shim.sh",
        (".",),
        "apps/a:deploy",
        StackPlace("apps/a:deploy", "a-dev", region="us-east-1"),
        "apps.a/stack.template.json",
        "assets/abc.zip",
    )
    alone = InvokeRequest("a:l", "h:f", "python3.11", "p", (), note="no deployment")
    for record in (deployed, alone):
        assert from_json(InvokeRequest, to_json(record)) == record


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


def test_dependencies_are_recorded_in_tags_that_fit_and_read_back():
    addresses = tuple(
        f"apps/app{i:02d}:prod@account=111111111111,region=eu-west-1" for i in range(9)
    )
    tags = depends_on_tags(addresses)
    assert list(tags) == ["jiti:depends-on", "jiti:depends-on-2", "jiti:depends-on-3"]
    assert all(len(v) <= TAG_VALUE_LIMIT for v in tags.values())
    assert depends_on_from_tags({**tags, "jiti:app": "x"}) == {
        a.replace(",", "+") for a in addresses
    }
    assert depends_on_tags(()) == {}


def test_the_default_stack_policy_guards_retained_resources_only():
    template = {
        "Resources": {
            "Table": {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "RetainExceptOnCreate"},
            "Bucket": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"},
            "Queue": {"Type": "AWS::SQS::Queue", "DeletionPolicy": "Delete"},
            "Fn": {"Type": "AWS::Lambda::Function"},
        }
    }
    retained = retained_resources(template)
    assert retained == ["Bucket", "Table"]
    allow, deny = default_stack_policy(tuple(retained))["Statement"]
    assert allow["Effect"] == "Allow" and allow["Action"] == "Update:*"
    assert deny["Action"] == ["Update:Replace", "Update:Delete"]
    assert deny["Resource"] == ["LogicalResourceId/Bucket", "LogicalResourceId/Table"]
    assert default_stack_policy(()) is None


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
        "Password=(a NoEcho value): shorter than the MinLength 12",
    ]
    assert "hunter2" not in " ".join(problems)
    longer = {"Password": {"Type": "String", "NoEcho": "true", "MaxLength": 4}}
    assert check_parameters(longer, {"Password": "hunter2"}, set()) == [
        "Password=(a NoEcho value): longer than the MaxLength 4"
    ]  # never its length


def test_bounds_that_are_not_numbers_are_a_problem_not_a_crash():
    declared = {
        "Size": {"Type": "Number", "MinValue": "ten"},
        "Name": {"Type": "String", "MaxLength": None},
    }
    problems = check_parameters(declared, {"Size": "3", "Name": "x"}, set())
    assert problems == [
        "Name='x': the MaxLength None is not a number",
        "Size='3': the MinValue 'ten' is not a number",
    ]


def test_an_allowed_pattern_that_backtracks_forever_is_bounded():
    """`(a+)+$` on 40 a's and a `!` takes Python's `re` hours: the match gets a time bound."""
    declared = {"Name": {"Type": "String", "AllowedPattern": "(a+)+$"}}
    started = time.monotonic()
    problems = check_parameters(declared, {"Name": "a" * 40 + "!"}, set())
    assert time.monotonic() - started < 10
    assert problems == [
        f"Name={'a' * 40 + '!'!r}: the AllowedPattern (a+)+$ did not finish matching in "
        f"{PATTERN_TIMEOUT_S:g}s (nested repeats backtrack): simplify it"
    ]


def test_allowed_patterns_still_match_and_refuse_as_before():
    declared = {
        "Name": {"Type": "String", "AllowedPattern": "[a-z]+(-[a-z0-9]+)*"},
        "Code": {"Type": "String", "AllowedPattern": "[A-Z]{3}"},
    }
    assert check_parameters(declared, {"Name": "shop-eu1", "Code": "ABC"}, set()) == []
    assert check_parameters(declared, {"Name": "shop-", "Code": "ABC\n"}, set()) == [
        "Code='ABC\\n': does not match the AllowedPattern [A-Z]{3}",
        "Name='shop-': does not match the AllowedPattern [a-z]+(-[a-z0-9]+)*",
    ]
