"""Packaging `cloudformation_stack` targets, including every user mistake the rules report."""

from __future__ import annotations

import json
from dataclasses import dataclass
from textwrap import dedent

import pytest
from pants.core.goals.package import BuiltPackage, BuiltPackageArtifact, PackageFieldSet
from pants.engine.addresses import Address
from pants.engine.fs import CreateDigest, Digest, DigestContents, FileContent
from pants.engine.rules import Get, rule
from pants.engine.target import COMMON_TARGET_FIELDS, StringField, Target
from pants.engine.unions import UnionRule
from pants.testutil.rule_runner import engine_error

from jiti.errors import JitiError
from jiti.package import CloudFormationStackPackageFieldSet
from jiti.testutil import make_rule_runner


class BlobContentField(StringField):
    alias = "content"
    help = "Content of the one file this test package writes; `fail` makes packaging fail."


class BlobTarget(Target):
    alias = "blob"
    core_fields = (*COMMON_TARGET_FIELDS, BlobContentField)
    help = "A packageable test target."


@dataclass(frozen=True)
class BlobFieldSet(PackageFieldSet):
    required_fields = (BlobContentField,)
    content: BlobContentField


@rule
async def package_blob(field_set: BlobFieldSet) -> BuiltPackage:
    if field_set.content.value == "fail":
        raise ValueError("the blob could not be built")
    path = f"{field_set.address.target_name}.bin"
    digest = await Get(Digest, CreateDigest([FileContent(path, field_set.content.value.encode())]))
    return BuiltPackage(digest, (BuiltPackageArtifact(path),))


INFRA = dedent(
    """\
    from troposphere import Output, Ref, s3, sqs

    def template(app):
        blob = app.asset(":blob")
        q = app.template.add_resource(sqs.Queue("Queue"))
        app.template.add_output(Output("QueueUrl", Value=Ref(q)))
        app.template.add_output(Output("BlobKey", Value=blob.key))
        app.template.add_output(Output("Bucket", Value=blob.bucket))
        return app.template
    """
)


@pytest.fixture(scope="module")
def rule_runner():
    runner = make_rule_runner(
        package_blob,
        UnionRule(PackageFieldSet, BlobFieldSet),
        extra_target_types=[BlobTarget],
    )
    runner.write_files(
        {
            "apps/ok/BUILD": dedent(
                """\
                python_sources()
                blob(name="blob", content="v1")
                cloudformation_stack(
                    name="stack", source="infra.py", dependencies=[":blob"],
                    description="ok app", stack_tags={"team": "a"},
                )
                """
            ),
            "apps/ok/infra.py": INFRA,
            "apps/plain/BUILD": 'cloudformation_stack(name="stack", source="template.yaml")',
            "apps/plain/template.yaml": dedent(
                """\
                Resources:
                  Bucket:
                    Type: AWS::S3::Bucket
                    Properties:
                      BucketName: !Sub "${AWS::StackName}-bucket"
                """
            ),
            "apps/plainjson/BUILD": 'cloudformation_stack(name="stack", source="t.json")',
            "apps/plainjson/t.json": '{"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}',
            "apps/badjson/BUILD": 'cloudformation_stack(name="stack", source="t.json")',
            "apps/badjson/t.json": '{"Resources": ',
            "apps/noresources/BUILD": 'cloudformation_stack(name="stack", source="t.yaml")',
            "apps/noresources/t.yaml": "Outputs: {}\n",
            "apps/syntax/BUILD": 'python_sources()\ncloudformation_stack(name="stack", source="infra.py")',
            "apps/syntax/infra.py": "def template(app)\n    return app.template\n",
            "apps/raises/BUILD": 'python_sources()\ncloudformation_stack(name="stack", source="infra.py")',
            "apps/raises/infra.py": "def template(app):\n    raise RuntimeError('no bucket configured')\n",
            "apps/notemplate/BUILD": 'python_sources()\ncloudformation_stack(name="stack", source="infra.py")',
            "apps/notemplate/infra.py": "def template(app):\n    return {'Resources': {}}\n",
            "apps/nofunction/BUILD": 'python_sources()\ncloudformation_stack(name="stack", source="infra.py")',
            "apps/nofunction/infra.py": "X = 1\n",
            "apps/importerror/BUILD": 'python_sources()\ncloudformation_stack(name="stack", source="infra.py")',
            "apps/importerror/infra.py": "import no_such_module_anywhere\n",
            "apps/unowned/BUILD": 'cloudformation_stack(name="stack", source="infra.py")',
            "apps/unowned/infra.py": INFRA,
            "apps/badasset/BUILD": dedent(
                """\
                python_sources()
                blob(name="blob", content="fail")
                cloudformation_stack(name="stack", source="infra.py", dependencies=[":blob"])
                """
            ),
            "apps/badasset/infra.py": INFRA,
            "apps/noasset/BUILD": 'python_sources()\ncloudformation_stack(name="stack", source="infra.py")',
            "apps/noasset/infra.py": INFRA,
            "one/svc/BUILD": 'cloudformation_stack(name="stack", source="t.json")',
            "one/svc/t.json": '{"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}',
            "two/svc/BUILD": 'cloudformation_stack(name="stack", source="t.json")',
            "two/svc/t.json": '{"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}',
        }
    )
    return runner


def package(rule_runner, spec_path: str) -> dict[str, bytes]:
    tgt = rule_runner.get_target(Address(spec_path, target_name="stack"))
    built = rule_runner.request(BuiltPackage, [CloudFormationStackPackageFieldSet.create(tgt)])
    contents = rule_runner.request(DigestContents, [built.digest])
    return {fc.path: fc.content for fc in contents}


def test_troposphere_stack_with_asset(rule_runner) -> None:
    files = package(rule_runner, "apps/ok")
    assert set(files) == {
        "apps.ok/stack.template.json",
        "apps.ok/stack.manifest.json",
        f"apps.ok/stack.assets/{_sha('v1')}.bin",
    }
    template = json.loads(files["apps.ok/stack.template.json"])
    manifest = json.loads(files["apps.ok/stack.manifest.json"])
    assert template["Description"] == "ok app"
    assert template["Resources"]["Queue"]["Type"] == "AWS::SQS::Queue"
    assert template["Outputs"]["BlobKey"]["Value"] == f"assets/{_sha('v1')}.bin"
    assert template["Outputs"]["Bucket"]["Value"] == {"Ref": "AssetsBucket"}
    assert manifest["stack_name"] == "ok"
    assert manifest["address"] == "apps/ok:stack"
    assert manifest["tags"] == {"team": "a"}
    assert manifest["assets"] == [
        {
            "address": "apps/ok:blob",
            "file": f"stack.assets/{_sha('v1')}.bin",
            "key": f"assets/{_sha('v1')}.bin",
            "sha256": _sha("v1"),
            "size": 2,
        }
    ]
    assert set(manifest["parameters"]) == {"AssetsBucket", "Environment"}
    assert len(manifest["version"]) == 64 and manifest["version_short"] == manifest["version"][:12]
    # Canonical output: sorted keys, two-space indent, trailing newline.
    text = files["apps.ok/stack.template.json"].decode()
    assert text == json.dumps(template, sort_keys=True, indent=2) + "\n"


def test_asset_content_changes_the_version(rule_runner) -> None:
    before = json.loads(package(rule_runner, "apps/ok")["apps.ok/stack.manifest.json"])["version"]
    rule_runner.write_files(
        {"apps/ok/BUILD": rule_runner.read_file("apps/ok/BUILD").replace('"v1"', '"v2"')}
    )
    try:
        after = json.loads(package(rule_runner, "apps/ok")["apps.ok/stack.manifest.json"])[
            "version"
        ]
    finally:
        rule_runner.write_files(
            {"apps/ok/BUILD": rule_runner.read_file("apps/ok/BUILD").replace('"v2"', '"v1"')}
        )
    assert before != after


def test_plain_yaml_template_is_canonical_json(rule_runner) -> None:
    files = package(rule_runner, "apps/plain")
    template = json.loads(files["apps.plain/stack.template.json"])
    assert template == {
        "Resources": {
            "Bucket": {
                "Type": "AWS::S3::Bucket",
                "Properties": {"BucketName": {"Fn::Sub": "${AWS::StackName}-bucket"}},
            }
        }
    }
    manifest = json.loads(files["apps.plain/stack.manifest.json"])
    assert manifest["assets"] == [] and manifest["stack_name"] == "plain"


def test_plain_json_template(rule_runner) -> None:
    files = package(rule_runner, "apps/plainjson")
    assert json.loads(files["apps.plainjson/stack.template.json"])["Resources"]["Q"]


@pytest.mark.parametrize(
    "spec_path, expected",
    [
        (
            "apps/badjson",
            "apps/badjson:stack: field `source`: apps/badjson/t.json is not a valid CloudFormation JSON/YAML template",
        ),
        (
            "apps/noresources",
            "apps/noresources:stack: field `source`: apps/noresources/t.yaml is not a CloudFormation template",
        ),
        (
            "apps/syntax",
            "apps/syntax:stack: field `source`: syntax error in apps/syntax/infra.py, line 1",
        ),
        (
            "apps/raises",
            "template(app) in apps/raises/infra.py raised (line 2): RuntimeError: no bucket configured",
        ),
        ("apps/notemplate", "returned dict, expected a troposphere Template"),
        (
            "apps/nofunction",
            "apps/nofunction/infra.py must define a function `template(app)`",
        ),
        (
            "apps/importerror",
            "importing apps/importerror/infra.py failed (line 1): ModuleNotFoundError",
        ),
        (
            "apps/unowned",
            "apps/unowned:stack: field `source`: apps/unowned/infra.py is not owned by a `python_source` target",
        ),
        (
            "apps/badasset",
            "apps/badasset:stack: a packaged dependency (field `dependencies`: apps/badasset:blob) could not be built",
        ),
        (
            "apps/noasset",
            "asset ':blob' (apps/noasset:blob) is not a packaged dependency of apps/noasset:stack",
        ),
        (
            "one/svc",
            "field `stack_name`: the stack name 'svc' is used by one/svc:stack, two/svc:stack",
        ),
    ],
)
def test_user_mistakes_are_one_clear_error(rule_runner, spec_path: str, expected: str) -> None:
    with engine_error(JitiError, contains=expected):
        package(rule_runner, spec_path)


def _sha(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()
