"""Local paths where CloudFormation takes only S3 locations (a nested stack's `TemplateURL`, a
SAM function's `CodeUri`, ...) are refused when the stack is packaged, in one line naming the
file, the resource and the property, and saying what to do instead.

Sources: the `AWS::CloudFormation::Stack` reference (`TemplateURL`: "the URL of a file that
contains the template body. The URL must point to a template ... located in an Amazon S3
bucket"); the `AWS::Serverless::Function` reference (`CodeUri`: "the function code's Amazon S3
URI, local file path, or FunctionCode object"; a local path only for the SAM CLI's or `aws
cloudformation package`'s packaging, which jiti does not run: CloudFormation's transform itself
takes S3 locations only).
"""

from __future__ import annotations

import json

import pytest

from jiti_contract import EXIT_USER_ERROR, SynthesisRequest
from jiti_infra import synth_main as synth

NESTED = """\
Resources:
  Network:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: {url}
"""
SAM = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Handler:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.11
      Handler: app.handle
      CodeUri: {code}
"""


def run(tmp_path, text: str, capsys) -> tuple[int, str]:
    """Package the plain template `text`: the exit code and what it said on stderr."""
    plain = tmp_path / "stack.yaml"
    plain.write_text(text)
    request = tmp_path / "request.json"
    request.write_text(
        json.dumps({"module": None, "source": str(plain), "app": "a", "address": "a:b"})
    )
    code = synth.main([str(request), str(tmp_path / "out.json")])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("url", ["./network.yaml", "templates/network.json", "network.yaml"])
def test_a_nested_stack_from_a_local_file_is_refused_at_package_time(tmp_path, capsys, url):
    code, err = run(tmp_path, NESTED.format(url=url), capsys)
    assert code == EXIT_USER_ERROR
    assert err.count("\n") == 1
    assert f"resource Network (AWS::CloudFormation::Stack): TemplateURL {url!r}" in err
    assert "is a local path" in err and "S3 URL" in err and "`inputs`" in err
    assert str(tmp_path / "stack.yaml") in err


@pytest.mark.parametrize("code_uri", ["src/", "./handler", "build/handler.zip"])
def test_a_sam_function_with_local_code_is_refused_at_package_time(tmp_path, capsys, code_uri):
    code, err = run(tmp_path, SAM.format(code=code_uri), capsys)
    assert code == EXIT_USER_ERROR
    assert err.count("\n") == 1
    assert f"resource Handler (AWS::Serverless::Function): CodeUri {code_uri!r}" in err
    assert "app.asset(" in err and "s3://" in err


def test_a_local_code_uri_in_sam_globals_is_refused(tmp_path, capsys):
    text = SAM.format(code="s3://code-bucket/handler.zip").replace(
        "Resources:", "Globals:\n  Function:\n    CodeUri: src/\nResources:"
    )
    code, err = run(tmp_path, text, capsys)
    assert code == EXIT_USER_ERROR
    assert "Globals.Function: CodeUri 'src/'" in err


@pytest.mark.parametrize(
    "text",
    [
        NESTED.format(url="https://my-templates.s3.amazonaws.com/network.yaml"),
        NESTED.format(url="!Sub 'https://${AssetsBucket}.s3.amazonaws.com/network.yaml'"),
        SAM.format(code="s3://code-bucket/handler.zip"),
        SAM.format(code="{Bucket: code-bucket, Key: handler.zip}"),
    ],
)
def test_s3_locations_and_intrinsic_functions_are_taken_as_written(tmp_path, capsys, text):
    assert run(tmp_path, text, capsys) == (0, "")


def test_a_troposphere_template_is_checked_as_well(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "infra_nested.py").write_text(
        "from troposphere import cloudformation\n"
        "def template(app):\n"
        "    app.add(cloudformation.Stack('Child', TemplateURL='child.yaml'))\n"
        "    return app.template\n"
    )
    request = SynthesisRequest("apps/x:stack", "x", "infra_nested.py", module="infra_nested")
    with pytest.raises(synth.SynthesisError, match=r"resource Child .*TemplateURL 'child.yaml'"):
        synth.synthesize(request)
