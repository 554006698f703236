"""`--jiti-hotswap` against the local AWS: a code or environment change reaches the function
directly and the stack's template is left as it was; the next normal deploy deploys and
reconciles; anything else goes through CloudFormation with the reason; drift sees the hotswap;
and a deployment that must never be hotswapped is refused before any call."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import threading
import time
import zipfile

import pytest

from jiti_contract import Plan, StackPlace, StackSetSettings, to_json
from jiti_deploy import drift, hotswap, hotswap_marks, output, runner
from jiti_deploy.__main__ import main
from jiti_deploy.destinations import Destinations
from jiti_deploy.local_aws import LocalAws
from jiti_deploy.report import Result

REGION = "us-east-1"


def zipped(code: str) -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(zipfile.ZipInfo("handler.py", (2020, 1, 1, 0, 0, 0)), code)
    return archive.getvalue()


def code_sha256(content: bytes) -> str:
    """Lambda's `CodeSha256`: the base64 of the zip's SHA-256."""
    return base64.b64encode(hashlib.sha256(content).digest()).decode()


def function_stack(content: bytes, variables: dict, extra: dict | None = None) -> dict:
    """A function read from a jiti asset, as `lambda_function` synthesizes it."""
    sha = hashlib.sha256(content).hexdigest()
    version = f"JitiAssetVersion{sha[:16]}"
    return {
        "Parameters": {
            "AssetsBucket": {"Type": "String"},
            version: {"Type": "String", "Default": ""},
        },
        "Conditions": {f"{version}Set": {"Fn::Not": [{"Fn::Equals": [{"Ref": version}, ""]}]}},
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {"AssumeRolePolicyDocument": {"Statement": []}},
            },
            "Handler": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Runtime": "python3.11",
                    "Handler": "handler.handle",
                    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                    "Code": {
                        "S3Bucket": {"Ref": "AssetsBucket"},
                        "S3Key": f"assets/{sha}.zip",
                        "S3ObjectVersion": {
                            "Fn::If": [f"{version}Set", {"Ref": version}, {"Ref": "AWS::NoValue"}]
                        },
                    },
                    "Environment": {"Variables": variables},
                },
            },
            **(extra or {}),
        },
    }


def greeter(make, code: str, variables=None, extra=None, **plan):
    content = zipped(code)
    template = function_stack(content, variables or {"GREETING": "hello"}, extra)
    plan.setdefault("capabilities", ("CAPABILITY_IAM",))
    return make("hs", template, {"apps/hs:lambda": content}, **plan)


def the_function(destination) -> dict:
    cfn = destination.client("cloudformation")
    (fn,) = cfn.describe_stack_resources(StackName="hs-dev", LogicalResourceId="Handler")[
        "StackResources"
    ]
    lam = destination.client("lambda")
    return lam.get_function_configuration(FunctionName=fn["PhysicalResourceId"])


def live_template(destination) -> dict:
    return hotswap.live_template(destination.client("cloudformation"), "hs-dev")


@pytest.fixture
def swaps(tmp_path):
    marks = tmp_path / "marks"
    return hotswap.Options(True, marks), hotswap.Options(False, marks)


def test_a_code_change_is_hotswapped_and_the_next_deploy_reconciles(destination, make, swaps):
    on, off = swaps
    runner.deploy(destination, greeter(make, "v = 1"), log=print)
    template_before = live_template(destination)
    new = greeter(make, "v = 2")
    lines: list[str] = []
    assert (
        runner.deploy(destination, new, log=lines.append, hotswap_options=on) is Result.HOTSWAPPED
    )
    assert the_function(destination)["CodeSha256"] == code_sha256(zipped("v = 2"))
    assert live_template(destination) == template_before  # the stack is untouched
    assert any("code updated to assets/" in line for line in lines)

    # The stack still records the old version: a normal deploy deploys, and its template then
    # names the new asset; the marks are gone.
    assert runner.deploy(destination, new, log=print, hotswap_options=off) is Result.DEPLOYED
    key = f"assets/{hashlib.sha256(zipped('v = 2')).hexdigest()}.zip"
    assert live_template(destination)["Resources"]["Handler"]["Properties"]["Code"]["S3Key"] == key
    assert hotswap_marks.read(destination, "hs-dev") is None
    assert hotswap_marks.local(off.marks_dir, new, destination) is None
    assert runner.deploy(destination, new, log=print, hotswap_options=off) is Result.UP_TO_DATE


def test_an_undone_edit_after_a_hotswap_is_deployed_and_puts_the_code_back(
    destination, make, swaps
):
    """The stack records version 1 and runs version 2's code: deploying version 1 again must
    not say `up to date`."""
    on, off = swaps
    first = greeter(make, "v = 'one'")
    runner.deploy(destination, first, log=print)
    runner.deploy(destination, greeter(make, "v = 'two'"), log=print, hotswap_options=on)
    first = greeter(make, "v = 'one'")
    assert runner.deploy(destination, first, log=print, hotswap_options=off) is Result.DEPLOYED
    assert the_function(destination)["CodeSha256"] == code_sha256(zipped("v = 'one'"))
    assert runner.deploy(destination, first, log=print, hotswap_options=off) is Result.UP_TO_DATE


def test_the_bucket_and_the_functions_are_read_while_the_live_template_is(destination, make, swaps):
    """None of the three waits for another: GetTemplate is answered only once the asset's check
    in the bucket (HeadObject; the bucket itself was checked by this run's first deploy) and
    ListStackResources have started (made one after another, GetTemplate would wait for them
    in vain)."""
    on, _ = swaps
    runner.deploy(destination, greeter(make, "v = 1"), log=print)
    started = {"s3.HeadObject": threading.Event(), "ListStackResources": threading.Event()}

    def seen(event_name, **_):
        for operation, event in started.items():
            if event_name.endswith(operation):
                event.set()

    def template_read(**_):
        assert all(event.wait(10) for event in started.values()), "read one after another"

    destination.client("s3").meta.events.register("before-call.s3.HeadObject", seen)
    cfn = destination.client("cloudformation").meta.events
    cfn.register("before-call.cloudformation.ListStackResources", seen)
    cfn.register("before-call.cloudformation.GetTemplate", template_read)
    new = greeter(make, "v = 2")
    assert runner.deploy(destination, new, log=print, hotswap_options=on) is Result.HOTSWAPPED
    assert the_function(destination)["CodeSha256"] == code_sha256(zipped("v = 2"))


def test_an_update_lambda_answers_successful_is_not_waited_for(destination, make, swaps):
    """UpdateFunctionCode answers the function's configuration, its `LastUpdateStatus` among it
    (Lambda API reference, UpdateFunctionCode response; `InProgress` while AWS updates it):
    `Successful` is what the `function_updated_v2` waiter polls GetFunction for, so no poll is
    made. The local AWS updates at once and answers `Successful`."""
    on, _ = swaps
    runner.deploy(destination, greeter(make, "v = 1"), log=print)
    calls: list[str] = []
    destination.client("lambda").meta.events.register(
        "before-call.lambda", lambda event_name, **_: calls.append(event_name.split(".")[-1])
    )
    new = greeter(make, "v = 2")
    assert runner.deploy(destination, new, log=print, hotswap_options=on) is Result.HOTSWAPPED
    assert calls == ["UpdateFunctionCode"]


def test_this_machine_s_mark_is_written_before_the_function_changes(
    destination, make, swaps, monkeypatch
):
    """A run stopped during the update (Ctrl-C, a lost connection) still leaves the mark that
    makes this machine's next deploy go through CloudFormation and put back what the template
    says: the stack never says `up to date` over code it does not describe. However slow the
    disk is."""
    on, _ = swaps
    runner.deploy(destination, greeter(make, "v = 1"), log=print)
    new, marked = greeter(make, "v = 2"), []
    path = hotswap_marks._file(on.marks_dir, new, destination)
    mark_file = hotswap_marks._file

    def slow_disk(*args):
        time.sleep(1)
        return mark_file(*args)

    monkeypatch.setattr(hotswap_marks, "_file", slow_disk)
    destination.client("lambda").meta.events.register(
        "before-call.lambda.UpdateFunctionCode",
        lambda **_: marked.append(json.loads(path.read_text()) if path.exists() else None),
    )
    assert runner.deploy(destination, new, log=print, hotswap_options=on) is Result.HOTSWAPPED
    (mark,) = marked
    assert mark and mark["version"] == new.version and "Handler" in mark["functions"]
    assert hotswap_marks.read(destination, "hs-dev") == mark  # the stack's own, too


def test_an_environment_variable_written_in_the_template_is_hotswapped(destination, make, swaps):
    on, _ = swaps
    runner.deploy(destination, greeter(make, "v = 1", {"GREETING": "hello"}), log=print)
    changed = greeter(make, "v = 1", {"GREETING": "bonjour"})
    assert runner.deploy(destination, changed, log=print, hotswap_options=on) is Result.HOTSWAPPED
    assert the_function(destination)["Environment"]["Variables"] == {"GREETING": "bonjour"}
    live = live_template(destination)["Resources"]["Handler"]["Properties"]["Environment"]
    assert live == {"Variables": {"GREETING": "hello"}}


def test_an_infrastructure_change_is_deployed_normally_saying_why(destination, make, swaps):
    on, _ = swaps
    runner.deploy(destination, greeter(make, "v = 1"), log=print)
    queue = {"Jobs": {"Type": "AWS::SQS::Queue"}}
    changed = greeter(make, "v = 2", extra=queue)
    lines: list[str] = []
    assert runner.deploy(destination, changed, log=lines.append, hotswap_options=on) is (
        Result.DEPLOYED
    )
    assert "hs-dev: not hotswappable: Queue Jobs added" in lines
    assert "Jobs" in live_template(destination)["Resources"]
    assert the_function(destination)["CodeSha256"] == code_sha256(zipped("v = 2"))


def test_a_new_stack_is_created_normally(destination, make, swaps):
    on, _ = swaps
    lines: list[str] = []
    deployment = make("hs-new", {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}})
    assert runner.deploy(destination, deployment, log=lines.append, hotswap_options=on) is (
        Result.DEPLOYED
    )
    assert "hs-new-dev: not hotswappable: the stack is new" in lines


def site(make, files: dict[str, str]):
    """A site bucket filled from an archive, with the output saying where the content came
    from (as `static_site` makes them)."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        for name, text in files.items():
            zf.writestr(zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0)), text)
    content = archive.getvalue()
    key = f"assets/{hashlib.sha256(content).hexdigest()}.zip"
    template = {
        "Parameters": {"AssetsBucket": {"Type": "String"}},
        "Resources": {"Site": {"Type": "AWS::S3::Bucket"}},
        "Outputs": {
            "SiteName": {"Value": {"Ref": "Site"}},
            "SiteContent": {
                "Value": {"Fn::Join": ["", ["s3://", {"Ref": "AssetsBucket"}, f"/{key}"]]}
            },
        },
        "Metadata": {"jiti:site-content": [{"Asset": key, "BucketOutput": "SiteName"}]},
    }
    return make("hs-site", template, {"apps/hs-site/static:static": content})


def test_a_site_edit_puts_only_the_changed_files(destination, make, swaps):
    on, _ = swaps
    runner.deploy(destination, site(make, {"index.html": "<h1>hi</h1>", "a.css": "a{}"}), log=print)
    s3 = destination.client("s3")
    bucket = live(destination, "hs-site-dev")["SiteName"]
    versioned = {"Status": "Enabled"}  # each put is a version of its own from here
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration=versioned)
    edited = site(make, {"index.html": "<h1>hello</h1>", "a.css": "a{}"})
    lines: list[str] = []
    assert runner.deploy(destination, edited, log=lines.append, hotswap_options=on) is (
        Result.HOTSWAPPED
    )
    assert s3.get_object(Bucket=bucket, Key="index.html")["Body"].read() == b"<h1>hello</h1>"
    versions = s3.list_object_versions(Bucket=bucket)["Versions"]
    assert sorted(v["Key"] for v in versions) == ["a.css", "index.html", "index.html"]
    assert f"hs-site-dev: site s3://{bucket}: 1 changed files put" in lines


def live(destination, stack: str) -> dict:
    cfn = destination.client("cloudformation")
    outputs = cfn.describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    return {o["OutputKey"]: o["OutputValue"] for o in outputs}


@pytest.fixture
def use_local_aws(endpoint, monkeypatch):
    monkeypatch.setattr(
        "jiti_deploy.local_aws.ensure_running",
        lambda state_dir, log=print: LocalAws(endpoint=endpoint, pid=0),
    )


def test_drift_reports_the_hotswapped_function_until_the_next_deploy(
    destination, make, swaps, tmp_path, use_local_aws
):
    on, off = swaps
    runner.deploy(destination, greeter(make, "v = 1"), log=print)
    new = greeter(make, "v = 2")
    runner.deploy(destination, new, log=print, hotswap_options=on)
    places = (StackPlace("apps/hs:deploy", "hs-dev"),)
    (outcome,) = drift.run(Destinations("local", tmp_path), places, max_parallel=1, log=print)
    assert outcome.result is Result.DRIFTED
    (found,) = outcome.drift
    assert (found["logical_id"], found["status"]) == ("Handler", "HOTSWAPPED")
    assert "hs-dev: Handler (AWS::Lambda::Function) HOTSWAPPED" in drift.summary([outcome], 1.0)
    runner.deploy(destination, new, log=print, hotswap_options=off)
    (outcome,) = drift.run(Destinations("local", tmp_path), places, max_parallel=1, log=print)
    assert outcome.result is Result.IN_SYNC


@pytest.mark.parametrize(
    "plan, env, allow, message",
    [
        (
            {"environment": "prod"},
            {},
            False,
            "error: apps/hs:deploy: hotswap refused: environment 'prod' is in "
            "[jiti].protected_environments; deploy it without --jiti-hotswap",
        ),
        (
            {"stack_set": StackSetSettings(("111111111111",), ("eu-west-1",), 25, 0)},
            {},
            False,
            "error: apps/hs:deploy: hotswap refused: a StackSet deploys through CloudFormation "
            "only",
        ),
        (
            {},
            {"CI": "true"},
            False,
            "error: apps/hs:deploy: hotswap refused: CI is set (a CI deploy goes through "
            "CloudFormation); set [jiti].hotswap_in_ci to allow it",
        ),
    ],
)
def test_a_deployment_never_hotswapped_is_refused_before_any_call(
    tmp_path, capsys, monkeypatch, plan, env, allow, message
):
    from jiti_contract import Manifest

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    manifest = Manifest("apps/hs:stack", "hs", "0" * 64, "t.json", "0" * 64, (), {}, {}, None)
    (tmp_path / "m.json").write_text(manifest.to_json())
    fields = {"environment": "dev", **plan}
    environment = fields.pop("environment")
    the_plan = Plan("apps/hs:deploy", "deploy", "hs", "hs-x", environment, "m.json", **fields)
    (tmp_path / "p.json").write_text(to_json(the_plan))
    argv = ["--plan", str(tmp_path / "p.json"), "--artifacts", str(tmp_path)]
    argv += ["--state-dir", str(tmp_path / "state"), "--hotswap", "--env-vars", "PATH,CI"]
    argv += ["--protected-environments", "prod,staging"]
    assert main(argv) == 2
    assert output.flushed(timeout_s=5)
    assert capsys.readouterr().err.splitlines() == [message]
    assert not (tmp_path / "state").exists()  # the local AWS was not even started
