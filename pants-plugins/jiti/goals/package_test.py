"""`pants package` for `cloudformation_stack`: template, manifest and assets, reproducible,
versioned by content."""

from __future__ import annotations

import hashlib
import json
from textwrap import dedent

import pytest
from pants.core.goals.package import BuiltPackage
from pants.engine.addresses import Address
from pants.engine.fs import DigestContents
from pants.testutil.rule_runner import QueryRule

from jiti.goals.package import CloudFormationStackPackageFieldSet
from jiti.testutil import BLOB_RULES, BlobTarget, make_rule_runner

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


# A value that differs between two synthesis processes but not between the two templates one
# process builds (util_rules/placeholders.py): it tells whether a synthesis ran again.
PER_PROCESS = dedent(
    """\
    import uuid

    from troposphere import Output

    RUN = str(uuid.uuid4())

    def template(app):
        blob = app.asset(":blob")
        app.template.add_output(Output("Run", Value=RUN))
        app.template.add_output(Output("Code", Value=blob.key))
        app.template.add_output(Output("Short", Value=blob.sha256[:SLICE]))
        app.asset_version(blob)
        return app.template
    """
)


# One repository for the module: each new RuleRunner would build the synthesis environment
# again.
@pytest.fixture(scope="module")
def rule_runner():
    runner = make_rule_runner(
        *BLOB_RULES,
        QueryRule(BuiltPackage, [CloudFormationStackPackageFieldSet]),
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
                AWSTemplateFormatVersion: 2010-09-09
                Resources:
                  Bucket:
                    Type: AWS::S3::Bucket
                    Properties:
                      BucketName: !Sub "${AWS::StackName}-bucket"
                """
            ),
            "apps/plainjson/BUILD": 'cloudformation_stack(name="stack", source="t.json")',
            **{
                f"apps/{name}/BUILD": dedent(
                    """\
                    python_sources()
                    blob(name="blob", content="v1")
                    cloudformation_stack(name="stack", source="infra.py", dependencies=[":blob"])
                    """
                )
                for name in ("whole", "sliced")
            },
            "apps/whole/infra.py": PER_PROCESS.replace("SLICE", "16"),
            "apps/sliced/infra.py": PER_PROCESS.replace("SLICE", "8"),
            "apps/plainjson/t.json": '{"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}',
        }
    )
    return runner


def package(rule_runner, spec_path: str) -> dict[str, bytes]:
    tgt = rule_runner.get_target(Address(spec_path, target_name="stack"))
    built = rule_runner.request(BuiltPackage, [CloudFormationStackPackageFieldSet.create(tgt)])
    contents = rule_runner.request(DigestContents, [built.digest])
    return {fc.path: fc.content for fc in contents}


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


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
    assert manifest["app"] == "ok"
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
    build = rule_runner.read_file("apps/ok/BUILD")
    rule_runner.write_files({"apps/ok/BUILD": build.replace('"v1"', '"v2"')})
    try:
        after = package(rule_runner, "apps/ok")["apps.ok/stack.manifest.json"]
    finally:
        rule_runner.write_files({"apps/ok/BUILD": build})
    assert json.loads(after)["version"] != before


def edit_blob(rule_runner, spec_path: str, content: str) -> None:
    build = rule_runner.read_file(f"{spec_path}/BUILD")
    rule_runner.write_files({f"{spec_path}/BUILD": build.replace('"v1"', f'"{content}"')})


@pytest.mark.parametrize("spec_path, reruns", [("apps/whole", False), ("apps/sliced", True)])
def test_an_asset_edit_reruns_no_synthesis_when_the_digest_is_only_text(
    rule_runner, spec_path: str, reruns: bool
) -> None:
    """The whole digest and its first 16 characters go in after a cached synthesis; any other
    use of it (here its first 8) synthesizes again with the real digest. Either way the template
    is the one the real digest gives."""
    base = spec_path.replace("/", ".")
    before = json.loads(package(rule_runner, spec_path)[f"{base}/stack.template.json"])
    edit_blob(rule_runner, spec_path, "v2")
    files = package(rule_runner, spec_path)
    after = json.loads(files[f"{base}/stack.template.json"])

    assert (after["Outputs"]["Run"] != before["Outputs"]["Run"]) is reruns
    sha = _sha("v2")
    assert after["Outputs"]["Code"]["Value"] == f"assets/{sha}.bin"
    assert after["Outputs"]["Short"]["Value"] == sha[: 8 if reruns else 16]
    assert set(after["Parameters"]) == {
        "AssetsBucket",
        "Environment",
        f"JitiAssetVersion{sha[:16]}",
    }
    assert f"JitiAssetVersion{sha[:16]}Set" in after["Conditions"]
    text = files[f"{base}/stack.template.json"].decode()
    assert text == json.dumps(after, sort_keys=True, indent=2) + "\n"


def test_plain_yaml_template_is_canonical_json(rule_runner) -> None:
    files = package(rule_runner, "apps/plain")
    template = json.loads(files["apps.plain/stack.template.json"])
    assert template == {
        "AWSTemplateFormatVersion": "2010-09-09",  # YAML reads it as a date: kept as written
        "Resources": {
            "Bucket": {
                "Type": "AWS::S3::Bucket",
                "Properties": {"BucketName": {"Fn::Sub": "${AWS::StackName}-bucket"}},
            }
        },
    }
    manifest = json.loads(files["apps.plain/stack.manifest.json"])
    assert manifest["assets"] == [] and manifest["app"] == "plain"


def test_plain_json_template(rule_runner) -> None:
    files = package(rule_runner, "apps/plainjson")
    assert json.loads(files["apps.plainjson/stack.template.json"])["Resources"]["Q"]
