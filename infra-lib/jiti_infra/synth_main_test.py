import json
import sys

import pytest

from jiti_contract import EXIT_USER_ERROR, SynthesisRequest, to_json
from jiti_infra import synth_main as synth
from jiti_version import JITI_PLUGIN_VERSION_ENV, JITI_VERSION


@pytest.fixture
def infra_module(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))

    def write(name: str, code: str) -> str:
        (tmp_path / f"{name}.py").write_text(code)
        sys.modules.pop(name, None)
        return name

    return write


def request(module, **kw) -> SynthesisRequest:
    return SynthesisRequest(
        module=module, source=f"{module}.py", app="demo", address="apps/demo:stack", **kw
    )


def test_module_template_is_tagged_and_described(infra_module):
    mod = infra_module(
        "infra_ok",
        "from troposphere import sqs\n"
        "def template(app):\n"
        "    app.add(sqs.Queue('Q'))\n"
        "    return app.template\n",
    )
    t = synth.synthesize(request(mod, description="demo app"))
    assert t["Description"] == "demo app"
    assert {"Key": "jiti:app", "Value": "demo"} in t["Resources"]["Q"]["Properties"]["Tags"]


def test_missing_required_property_is_a_user_error(infra_module):
    mod = infra_module(
        "infra_invalid",
        "from troposphere import awslambda\n"
        "def template(app):\n"
        "    app.add(awslambda.Function('F', Runtime='python3.11'))\n"
        "    return app.template\n",
    )
    with pytest.raises(synth.SynthesisError, match="is invalid: .*required"):
        synth.synthesize(request(mod))


def test_main_writes_canonical_json_and_exits_2_on_user_error(tmp_path, infra_module, capsys):
    mod = infra_module("infra_raises", "def template(app):\n    raise KeyError('nope')\n")
    req = tmp_path / "req.json"
    req.write_text(to_json(request(mod)))
    assert synth.main([str(req), str(tmp_path / "out.json")]) == EXIT_USER_ERROR
    assert "KeyError" in capsys.readouterr().err

    plain = tmp_path / "t.yaml"
    plain.write_text("Resources:\n  Q: {Type: 'AWS::SQS::Queue'}\nDescription: x\n")
    req.write_text(
        json.dumps({"module": None, "source": str(plain), "app": "demo", "address": "a:b"})
    )
    assert synth.main([str(req), str(tmp_path / "out.json")]) == 0
    text = (tmp_path / "out.json").read_text()
    assert text == json.dumps(json.loads(text), sort_keys=True, indent=2) + "\n"


def test_plain_yaml_with_an_unquoted_format_version_keeps_it_as_text(tmp_path):
    """YAML reads `2010-09-09` as a date; CloudFormation accepts the template as written."""
    plain = tmp_path / "t.yaml"
    plain.write_text(
        "AWSTemplateFormatVersion: 2010-09-09\nResources:\n  Q: {Type: 'AWS::SQS::Queue'}\n"
    )
    template = synth.synthesize(SynthesisRequest("a:b", "a", str(plain)))
    assert template["AWSTemplateFormatVersion"] == "2010-09-09"


@pytest.mark.parametrize(
    "text, message",
    [
        (
            '{"Parameters": ["Size"], "Resources": {}}',
            "t.json: `Parameters` is a list: a mapping of parameter names to declarations",
        ),
        ('{"Resources": ["Queue"]}', "t.json: `Resources` is a list: a mapping of logical ids"),
        (
            '{"Parameters": {"Size": "Number"}, "Resources": {}}',
            "t.json: `Parameters.Size` is a str: a mapping such as {Type: String}",
        ),
        (
            '{"Parameters": {"Size": {"Type": "Number", "MinValue": "ten"}}, "Resources": {}}',
            "t.json: `Parameters.Size.MinValue` is 'ten': a number",
        ),
        (
            '{"Parameters": {"Name": {"Type": "String", "MinLength": [3]}}, "Resources": {}}',
            "t.json: `Parameters.Name.MinLength` is [3]: a number",
        ),
    ],
)
def test_a_plain_template_of_the_wrong_shape_is_one_line_naming_the_field(tmp_path, text, message):
    plain = tmp_path / "t.json"
    plain.write_text(text)
    with pytest.raises(synth.SynthesisError) as error:
        synth.synthesize(SynthesisRequest("a:b", "a", str(plain)))
    assert message in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize(
    "name, text, message",
    [
        (
            "t.json",
            '{"Resources": {"Queue": {"Type": "AWS::SQS::Queue"},\n'
            ' "Queue": {"Type": "AWS::SNS::Topic"}}}',
            "the key 'Queue' appears twice in one mapping",
        ),
        (
            "t.yaml",
            "Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n  Queue:\n    Type: AWS::SNS::Topic\n",
            "line 4: the key 'Queue' appears twice in one mapping",
        ),
        (
            "t.yaml",
            "Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n    Properties: !Sub\n"
            "      QueueName: a\n      QueueName: b\n",
            "line 6: the key 'QueueName' appears twice in one mapping",
        ),
    ],
)
def test_duplicate_keys_in_a_plain_template_are_refused(tmp_path, name, text, message):
    """CloudFormation and cfn-lint refuse a template with a key twice in one mapping; a loader
    that keeps the last one would deploy something else than the file shows."""
    plain = tmp_path / name
    plain.write_text(text)
    with pytest.raises(synth.SynthesisError, match=message):
        synth.synthesize(SynthesisRequest("a:b", "a", str(plain)))


@pytest.mark.parametrize(
    "name, text", [("t.json", '{"Resources": '), ("t.yaml", "Resources:\n  Q: [unclosed\n")]
)
def test_a_template_that_does_not_parse_is_one_line(tmp_path, name, text):
    plain = tmp_path / name
    plain.write_text(text)
    with pytest.raises(synth.SynthesisError, match="is not a valid CloudFormation") as error:
        synth.synthesize(SynthesisRequest("a:b", "a", str(plain)))
    assert "\n" not in str(error.value)


def test_a_plugin_of_another_version_is_one_line_naming_both(tmp_path, monkeypatch, capsys):
    """The plugin passes its version; a jiti-infra of another version stops before reading
    the request (whose shape may have changed between the two)."""
    monkeypatch.setenv(JITI_PLUGIN_VERSION_ENV, "0.0.1")
    assert (
        synth.main([str(tmp_path / "absent.json"), str(tmp_path / "out.json")]) == EXIT_USER_ERROR
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "plugin is version 0.0.1" in err[0] and f"jiti-infra is version {JITI_VERSION}" in err[0]


def test_the_same_version_or_none_is_no_mismatch():
    assert synth.version_mismatch({JITI_PLUGIN_VERSION_ENV: JITI_VERSION}) is None
    assert synth.version_mismatch({}) is None
