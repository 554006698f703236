"""The assets bucket on a real account: created once even when two first deploys race, checked
and repaired on every run, shared by StackSets without one dropping another's read grant, and
named in the partition of its region. On the local AWS where it shows the behaviour, and with
botocore Stubbers answering as S3 does (the source of each answer in the test's docstring)."""

from __future__ import annotations

import base64
import hashlib
import json

import boto3
import pytest
from botocore.stub import ANY, Stubber

from jiti_contract import StackSetSettings, asset_version_parameter
from jiti_deploy import assets, bucket_settings, changes, local_aws, runner
from jiti_deploy.destinations import CLIENT_CONFIG, Destination
from jiti_deploy.report import Result
from jiti_deploy.testutil import one_by_one, quiet, stub_a_hardened_bucket

ACCOUNT = "123456789012"
QUEUE = {"Q": {"Type": "AWS::SQS::Queue"}}


def local(endpoint: str, region: str) -> Destination:
    return Destination(boto3.Session(region_name=region, **local_aws.CREDENTIALS), endpoint, True)


def s3_calls(destination: Destination) -> list[str]:
    """The S3 operations the destination's client makes from now on, as they are made."""
    calls: list[str] = []
    destination.client("s3").meta.events.register(
        "provide-client-params.s3", lambda event_name, **_: calls.append(event_name.split(".")[2])
    )
    return calls


def written(calls: list[str]) -> list[str]:
    """The calls that change something."""
    return [c for c in calls if not c.startswith(("Get", "Head", "List"))]


# --- checked and repaired on every run (local AWS) --------------------------------------------


def test_a_bucket_that_existed_before_is_hardened_and_what_it_lost_is_repaired(endpoint, make):
    """The bucket existed before jiti (made by hand), then lost its protections (a hardening
    call that failed, or someone's change): each run that uses it puts them back, and a bucket
    as it should be costs reads only."""
    first = local(endpoint, "eu-north-1")
    s3, name = first.client("s3"), assets.bucket_name(first.account, "eu-north-1")
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-north-1"})
    assert runner.deploy(first, make("prior", {"Resources": QUEUE}), log=quiet) is Result.DEPLOYED
    assert_hardened(s3, name)

    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Suspended"})
    s3.delete_bucket_lifecycle(Bucket=name)
    s3.delete_bucket_policy(Bucket=name)
    s3.delete_public_access_block(Bucket=name)
    second = local(endpoint, "eu-north-1")  # the next run
    calls = s3_calls(second)
    deployment = make("prior-2", {"Resources": QUEUE}, files={"apps/prior-2:lambda": b"zip"})
    assert runner.deploy(second, deployment, log=quiet) is Result.DEPLOYED
    assert_hardened(s3, name)
    assert {"PutBucketVersioning", "PutBucketLifecycleConfiguration"} <= set(written(calls))
    assert "PutBucketEncryption" not in calls  # it did not differ

    third = local(endpoint, "eu-north-1")
    calls = s3_calls(third)
    assert runner.deploy(third, make("prior-3", {"Resources": QUEUE}), log=quiet) is Result.DEPLOYED
    assert written(calls) == []


def assert_hardened(s3, name: str) -> None:
    assert all(s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"].values())
    rules = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"]
    assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
    lifecycle = s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]
    assert [r["NoncurrentVersionExpiration"]["NoncurrentDays"] for r in lifecycle] == [30]
    statements = json.loads(s3.get_bucket_policy(Bucket=name)["Policy"])["Statement"]
    assert [s["Sid"] for s in statements] == [bucket_settings.TLS_ONLY_SID]


# --- StackSets share the bucket (local AWS) ---------------------------------------------------


def test_two_stack_sets_keep_each_other_s_read_grant(endpoint, make):
    """Each StackSet's instances read the assets from their accounts: the second StackSet's
    deploy adds its accounts to the grant, and the first one's stay."""
    destination = local(endpoint, "eu-south-1")
    for name, account in (("alpha", "211111111111"), ("beta", "322222222222")):
        settings = StackSetSettings((account,), ("eu-south-1",), 100, 0)
        deployment = make(name, {"Resources": QUEUE}, stack_set=settings)
        assert runner.deploy(destination, deployment, log=quiet) is Result.DEPLOYED
    s3 = destination.client("s3")
    policy = s3.get_bucket_policy(Bucket=assets.bucket_name(destination.account, "eu-south-1"))
    (grant,) = [
        s for s in json.loads(policy["Policy"])["Statement"] if s["Sid"] == assets.STACK_SET_READS
    ]
    assert sorted(grant["Principal"]["AWS"]) == [
        "arn:aws:iam::211111111111:root",
        "arn:aws:iam::322222222222:root",
    ]


# --- AWS's answers (Stubbers) -----------------------------------------------------------------


class StubbedS3:
    """An AssetsBucket whose S3 client is a real boto3 client answered by a Stubber."""

    def __init__(self, monkeypatch, region: str):
        session = boto3.Session(
            region_name=region, aws_access_key_id="a", aws_secret_access_key="b"
        )
        self.destination = Destination(session, endpoint_url=None, local=False)
        self.destination.__dict__["account"] = ACCOUNT  # what STS would say
        self.client = session.client("s3", config=CLIENT_CONFIG)
        self.stub = Stubber(self.client)
        self.stub.activate()
        monkeypatch.setattr(Destination, "client", lambda _, service: self.client)
        monkeypatch.setattr(bucket_settings, "at_once", one_by_one)
        self.bucket = assets.AssetsBucket(self.destination)
        self.name = self.bucket.name

    def owned(self, **kwargs) -> dict:
        return {"Bucket": self.name, "ExpectedBucketOwner": ACCOUNT, **kwargs}

    def error(self, method: str, code: str, status: int, params: dict | None = None) -> None:
        self.stub.add_client_error(
            method, code, code, status, expected_params=params or self.owned()
        )

    def answer(self, method: str, response: dict, params: dict | None = None) -> None:
        self.stub.add_response(method, response, params or self.owned())


@pytest.fixture
def s3(monkeypatch):
    stubbed = StubbedS3(monkeypatch, "us-west-2")
    yield stubbed
    stubbed.stub.assert_no_pending_responses()
    stubbed.stub.deactivate()


def test_two_first_deploys_racing_to_create_the_bucket_both_go_on(s3):
    """The other deploy created the bucket between our HeadBucket and CreateBucket: S3 answers
    409 `BucketAlreadyOwnedByYou` ("Your previous request to create the named bucket succeeded
    and you already own it."; S3 API reference, CreateBucket errors, and localstack's
    `tests/aws/services/s3/test_s3.snapshot.json`
    `TestS3::test_create_bucket_with_existing_name` recorded on AWS), which is success: the
    bucket is checked as any existing one, and nothing needs writing."""
    s3.error("head_bucket", "404", 404)
    s3.error(
        "create_bucket",
        "BucketAlreadyOwnedByYou",
        409,
        {"Bucket": s3.name, "CreateBucketConfiguration": {"LocationConstraint": "us-west-2"}},
    )
    s3.answer("head_bucket", {"ResponseMetadata": {"HTTPStatusCode": 200}})  # the waiter
    stub_a_hardened_bucket(s3.stub, s3.name, ACCOUNT)
    s3.bucket.ensure(log=quiet)


def test_a_hardening_call_that_failed_last_time_is_made_by_the_next_run(s3):
    """The first run created the bucket and failed on PutBucketVersioning (a 500): the bucket
    exists, with versioning never set and no lifecycle. GetBucketVersioning then answers no
    `Status`, GetBucketLifecycleConfiguration 404 `NoSuchLifecycleConfiguration` (S3 API
    reference; localstack `test_s3_api.snapshot.json`
    `TestS3BucketVersioning::test_bucket_versioning_crud` `get-versioning-before` and
    `test_s3.snapshot.json` `TestS3BucketLifecycle::test_delete_bucket_lifecycle_configuration`).
    The next run sets exactly those two, and writes nothing else."""
    s3.answer("head_bucket", {})
    s3.answer(
        "get_public_access_block",
        {"PublicAccessBlockConfiguration": bucket_settings.PUBLIC_ACCESS_BLOCK},
    )
    s3.answer(
        "get_bucket_encryption",
        {
            "ServerSideEncryptionConfiguration": {
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
            }
        },
    )  # a KMS key someone chose is kept, not downgraded
    s3.answer("get_bucket_versioning", {})
    s3.error("get_bucket_lifecycle_configuration", "NoSuchLifecycleConfiguration", 404)
    s3.error("get_bucket_policy", "NoSuchBucketPolicy", 404)
    # The writes, one by one once everything is read; the policy read again before its write.
    s3.answer("put_bucket_versioning", {}, s3.owned(VersioningConfiguration={"Status": "Enabled"}))
    s3.answer(
        "put_bucket_lifecycle_configuration",
        {},
        s3.owned(LifecycleConfiguration={"Rules": [bucket_settings.OLD_VERSIONS]}),
    )
    s3.error("get_bucket_policy", "NoSuchBucketPolicy", 404)
    s3.answer("put_bucket_policy", {}, s3.owned(Policy=ANY))
    s3.bucket.ensure(log=quiet)


def test_a_grant_a_concurrent_deploy_overwrote_is_put_back(s3, monkeypatch):
    """A bucket policy is one document (PutBucketPolicy replaces it whole, S3 API reference):
    another StackSet's deploy that read it before our write and wrote after it drops our
    accounts. Reading it back after a pause shows that, and the union is written again."""
    monkeypatch.setattr(assets, "POLICY_SETTLE_S", 0)
    tls = bucket_settings.tls_only("aws", s3.name)
    theirs = assets.read_grant("aws", s3.name, ["322222222222"])
    both = assets.read_grant("aws", s3.name, ["211111111111", "322222222222"])
    s3.answer("get_bucket_policy", {"Policy": json.dumps({"Statement": [tls]})})
    s3.answer("put_bucket_policy", {}, s3.owned(Policy=ANY))
    s3.answer("get_bucket_policy", {"Policy": json.dumps({"Statement": [tls, theirs]})})
    s3.answer(
        "put_bucket_policy",
        {},
        s3.owned(Policy=json.dumps({"Version": "2012-10-17", "Statement": [tls, both]})),
    )
    s3.answer("get_bucket_policy", {"Policy": json.dumps({"Statement": [tls, both]})})
    s3.bucket.allow_reads(["211111111111"])


def test_in_aws_cn_the_policy_names_aws_cn_and_the_template_url_its_regional_host(monkeypatch):
    """cn-north-1 is in the `aws-cn` partition, whose ARNs start `arn:aws-cn:` and whose S3
    hosts end `amazonaws.com.cn` (botocore's endpoints data); a bucket in a region opened after
    March 2019 is not served by the global host `s3.amazonaws.com` (S3 user guide, virtual
    hosting: regional endpoints), so the template URL names the region."""
    s3 = StubbedS3(monkeypatch, "cn-north-1")
    tls = bucket_settings.tls_only("aws-cn", s3.name)
    assert tls["Resource"] == [f"arn:aws-cn:s3:::{s3.name}", f"arn:aws-cn:s3:::{s3.name}/*"]
    s3.answer("get_bucket_policy", {"Policy": json.dumps({"Statement": [tls]})})
    grant = {
        "Sid": assets.STACK_SET_READS,
        "Effect": "Allow",
        "Principal": {"AWS": ["arn:aws-cn:iam::211111111111:root"]},
        "Action": "s3:GetObject",
        "Resource": f"arn:aws-cn:s3:::{s3.name}/assets/*",
    }
    expected = json.dumps({"Version": "2012-10-17", "Statement": [tls, grant]})
    s3.answer("put_bucket_policy", {}, s3.owned(Policy=expected))
    monkeypatch.setattr(assets, "POLICY_SETTLE_S", 0)
    s3.answer("get_bucket_policy", {"Policy": expected})
    s3.bucket.allow_reads(["211111111111"])
    s3.stub.assert_no_pending_responses()
    assert s3.bucket.url("templates/t.json") == (
        f"https://{s3.name}.s3.cn-north-1.amazonaws.com.cn/templates/t.json"
    )


@pytest.mark.parametrize(
    "region, host",
    [
        ("us-east-1", "s3.us-east-1.amazonaws.com"),
        ("ap-east-1", "s3.ap-east-1.amazonaws.com"),  # opened in 2019
        ("us-gov-west-1", "s3.us-gov-west-1.amazonaws.com"),
    ],
)
def test_the_template_url_names_the_bucket_s_region(monkeypatch, region, host):
    s3 = StubbedS3(monkeypatch, region)
    assert s3.bucket.url("templates/t.json") == f"https://{s3.name}.{host}/templates/t.json"
    assert bucket_settings.tls_only(s3.bucket.partition, "b")["Resource"][0].startswith(
        "arn:aws-us-gov:" if region.startswith("us-gov") else "arn:aws:"
    )


# --- assets are the bytes of the version, and pinned (local AWS) ------------------------------

RIGHT, PLANTED = b"the code this version was built from", b"code someone else put there"


def function_stack(code_sha: str, *, function: str, padding: int = 0) -> dict:
    """A function whose code is the asset with content `code_sha`, pinned to the version jiti
    gives (as `jiti_infra.lambda_function` writes it); `padding` bytes of metadata make the
    template large enough to go through S3."""
    version = asset_version_parameter(code_sha)
    return {
        "Metadata": {"Padding": "x" * padding},
        "Parameters": {
            "AssetsBucket": {"Type": "String"},
            version: {"Type": "String", "Default": ""},
        },
        "Conditions": {f"{version}Set": {"Fn::Not": [{"Fn::Equals": [{"Ref": version}, ""]}]}},
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {"AssumeRolePolicyDocument": {"Version": "2012-10-17"}},
            },
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "FunctionName": function,
                    "Runtime": "python3.11",
                    "Handler": "app.handler",
                    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                    "Code": {
                        "S3Bucket": {"Ref": "AssetsBucket"},
                        "S3Key": f"assets/{code_sha}.zip",
                        "S3ObjectVersion": {
                            "Fn::If": [f"{version}Set", {"Ref": version}, {"Ref": "AWS::NoValue"}]
                        },
                    },
                },
            },
        },
    }


def code_of(destination: Destination, function: str) -> str:
    configuration = destination.client("lambda").get_function(FunctionName=function)
    return configuration["Configuration"]["CodeSha256"]


def b64sha(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


def plant(destination: Destination, key: str, body: bytes) -> None:
    """Someone who may write to the assets bucket puts `body` at `key`."""
    name = assets.bucket_name(destination.account, destination.region)
    destination.client("s3").put_object(Bucket=name, Key=key, Body=body)


def test_a_new_asset_costs_a_check_and_its_upload_whose_answer_names_its_version(endpoint, make):
    """PutObject answers the version it made and the SHA-256 S3 checked the body against
    (`VersionId`, `ChecksumSHA256`; a body that does not match the checksum sent is refused
    with `BadDigest`: S3 API reference, PutObject): that version holds the asset's bytes, with
    no read back. The function then runs those bytes, from that version."""
    destination = local(endpoint, "eu-west-2")
    sha = hashlib.sha256(RIGHT).hexdigest()
    deployment = make(
        "answered",
        function_stack(sha, function="answered"),
        files={"apps/answered:lambda": RIGHT},
        capabilities=("CAPABILITY_IAM",),
    )
    bucket = assets.AssetsBucket(destination)
    bucket.ensure(log=quiet)
    calls = s3_calls(destination)
    versions = bucket.upload(deployment, log=quiet)
    assert calls == ["HeadObject", "PutObject"]
    assert bucket.stored_version(f"assets/{sha}.zip", sha) == (True, versions[f"assets/{sha}.zip"])
    assert runner.deploy(destination, deployment, log=quiet) is Result.DEPLOYED
    assert code_of(destination, "answered") == b64sha(RIGHT)


def test_an_asset_and_a_template_planted_before_the_deploy_are_never_deployed(endpoint, make):
    """Bytes put at the predictable keys before the first deploy (the code, and a template over
    51,200 bytes) are not taken for the version's: their checksum is not the asset's, so both
    are uploaded again, and the stack runs the code and template the version was built from."""
    destination = local(endpoint, "eu-west-3")
    sha = hashlib.sha256(RIGHT).hexdigest()
    template = function_stack(sha, function="planted-before", padding=60_000)
    deployment = make(
        "planted", template, files={"apps/planted:lambda": RIGHT}, capabilities=("CAPABILITY_IAM",)
    )
    assets.AssetsBucket(destination).ensure(log=quiet)
    plant(destination, f"assets/{sha}.zip", PLANTED)
    planted_template = {"Resources": {"Planted": {"Type": "AWS::SQS::Queue"}}}
    key = f"templates/{deployment.manifest.template_sha256}.json"
    plant(destination, key, json.dumps(planted_template).encode())
    lines = []
    assert runner.deploy(destination, deployment, log=lines.append) is Result.DEPLOYED
    assert code_of(destination, "planted-before") == b64sha(RIGHT)
    live = destination.client("cloudformation").get_template(StackName="planted-dev")
    assert "Planted" not in json.dumps(live["TemplateBody"])
    assert any("uploading it again" in line and sha in line for line in lines)


def test_an_asset_overwritten_after_it_was_checked_changes_nothing_deployed(
    endpoint, make, monkeypatch
):
    """Someone overwrites the code and the template right after jiti checked and uploaded
    them, before CloudFormation reads them: CloudFormation reads the versions jiti pinned
    (`Code.S3ObjectVersion`, `TemplateURL?versionId=`), not what is at the keys now."""
    destination = local(endpoint, "eu-west-3")
    sha = hashlib.sha256(RIGHT).hexdigest()
    template = function_stack(sha, function="overwritten-after", padding=60_000)
    deployment = make(
        "overwritten",
        template,
        files={"apps/overwritten:lambda": RIGHT},
        capabilities=("CAPABILITY_IAM",),
    )
    create = changes.create

    def overwrite_then_create(cfn, **kwargs):
        plant(destination, f"assets/{sha}.zip", PLANTED)
        key = f"templates/{deployment.manifest.template_sha256}.json"
        plant(destination, key, b'{"Resources": {"Planted": {"Type": "AWS::SQS::Queue"}}}')
        return create(cfn, **kwargs)

    monkeypatch.setattr(changes, "create", overwrite_then_create)
    assert runner.deploy(destination, deployment, log=quiet) is Result.DEPLOYED
    assert code_of(destination, "overwritten-after") == b64sha(RIGHT)
    live = destination.client("cloudformation").get_template(StackName="overwritten-dev")
    assert "Planted" not in json.dumps(live["TemplateBody"])
