"""Fix 18: the local AWS reads the S3 object version a `TemplateURL` (`?versionId=`) or a Lambda
function's `Code.S3ObjectVersion` names, as CloudFormation and Lambda do; plain moto reads the
newest version of the key instead."""

from __future__ import annotations

import base64
import hashlib
import json

import boto3

from jiti_deploy.local_aws import CREDENTIALS
from jiti_deploy.local_aws.fidelity_test import unpatched

REGION = "eu-west-1"
ROLE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "*"}
    ],
}


def sha(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


def queue_template(name: str) -> str:
    return json.dumps({"Resources": {name: {"Type": "AWS::SQS::Queue"}}})


def function_template(bucket: str, version: str, name: str) -> str:
    code = {"S3Bucket": bucket, "S3Key": "code.zip", "S3ObjectVersion": version}
    return json.dumps(
        {
            "Resources": {
                "Role": {
                    "Type": "AWS::IAM::Role",
                    "Properties": {"AssumeRolePolicyDocument": ROLE_POLICY},
                },
                "Fn": {
                    "Type": "AWS::Lambda::Function",
                    "Properties": {
                        "FunctionName": name,
                        "Runtime": "python3.11",
                        "Handler": "x.handler",
                        "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                        "Code": code,
                    },
                },
            }
        }
    )


def test_a_pinned_template_and_function_code_are_the_versions_named(endpoint):
    clients = {
        s: boto3.client(s, region_name=REGION, endpoint_url=endpoint, **CREDENTIALS)
        for s in ("s3", "cloudformation", "lambda")
    }
    s3, cfn = clients["s3"], clients["cloudformation"]
    bucket = "jiti-pinned-versions"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    template = s3.put_object(Bucket=bucket, Key="t.json", Body=queue_template("Pinned"))
    code = s3.put_object(Bucket=bucket, Key="code.zip", Body=b"the right code")
    s3.put_object(Bucket=bucket, Key="t.json", Body=queue_template("Planted"))
    s3.put_object(Bucket=bucket, Key="code.zip", Body=b"planted code")

    url = f"https://{bucket}.s3.{REGION}.amazonaws.com/t.json?versionId={template['VersionId']}"
    cfn.create_stack(StackName="pinned-template", TemplateURL=url)
    resources = cfn.describe_stack_resources(StackName="pinned-template")["StackResources"]
    assert [r["LogicalResourceId"] for r in resources] == ["Pinned"]

    body = function_template(bucket, code["VersionId"], "pinned-code")
    cfn.create_stack(StackName="pinned-code", TemplateBody=body)
    configuration = clients["lambda"].get_function(FunctionName="pinned-code")["Configuration"]
    assert configuration["CodeSha256"] == sha(b"the right code")


def test_moto_still_reads_the_newest_version_whatever_is_pinned():
    result = unpatched(
        """
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="pins")
        s3.put_bucket_versioning(Bucket="pins", VersioningConfiguration={"Status": "Enabled"})
        first = s3.put_object(Bucket="pins", Key="t.json", Body=templates["pinned"])["VersionId"]
        code = s3.put_object(Bucket="pins", Key="code.zip", Body=b"the right code")["VersionId"]
        s3.put_object(Bucket="pins", Key="t.json", Body=templates["planted"])
        s3.put_object(Bucket="pins", Key="code.zip", Body=b"planted code")
        cfn.create_stack(StackName="t", TemplateURL=(
            "https://pins.s3.us-east-1.amazonaws.com/t.json?versionId=" + first))
        result["resources"] = [r["LogicalResourceId"] for r in
                               cfn.describe_stack_resources(StackName="t")["StackResources"]]
        cfn.create_stack(StackName="f", TemplateBody=templates["function"].replace("VERSION", code))
        result["code"] = boto3.client("lambda", region_name="us-east-1").get_function(
            FunctionName="pinned-code")["Configuration"]["CodeSha256"]
        """,
        pinned=queue_template("Pinned"),
        planted=queue_template("Planted"),
        function=function_template("pins", "VERSION", "pinned-code"),
    )
    assert result == {"resources": ["Planted"], "code": sha(b"planted code")}
