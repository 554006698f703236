"""What a plan flags for a reviewer: each change that widens access, named by logical id, and
nothing for a change that narrows it or leaves it as it is."""

from __future__ import annotations

import json

from jiti_deploy.plan_security import flags


def statement(actions, resources, principal=None) -> dict:
    found = {"Effect": "Allow", "Action": actions, "Resource": resources}
    if principal:
        found["Principal"] = principal
    return found


def template(**resources) -> dict:
    return {"Resources": {lid: {"Type": t, "Properties": p} for lid, (t, p) in resources.items()}}


def found(old: dict, new: dict) -> list[tuple[str, str]]:
    return [(f["logical_id"], f["kind"]) for f in flags(old, new)]


def role(principals: list[str], actions: list[str], resources) -> tuple:
    trust = {"Statement": [statement("sts:AssumeRole", None, {"Service": principals})]}
    policy = {"Statement": [statement(actions, resources)]}
    return (
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": trust,
            "Policies": [{"PolicyName": "app", "PolicyDocument": policy}],
        },
    )


def test_a_role_that_trusts_more_or_allows_more_is_flagged():
    old = template(Fn=role(["lambda.amazonaws.com"], ["sqs:SendMessage"], ["arn:q"]))
    new = template(
        Fn=role(["lambda.amazonaws.com", "ec2.amazonaws.com"], ["sqs:SendMessage", "sqs:*"], "*")
    )
    assert found(old, new) == [
        ("Fn", "trust-principal"),
        ("Fn", "iam-actions"),
        ("Fn", "iam-any-resource"),
    ]
    details = [f["detail"] for f in flags(old, new)]
    assert "Service:ec2.amazonaws.com" in details[0] and "sqs:*" in details[1]


def test_a_narrowing_or_an_unchanged_policy_is_not_flagged():
    wide = template(Fn=role(["lambda.amazonaws.com"], ["sqs:*"], "*"))
    narrow = template(Fn=role(["lambda.amazonaws.com"], ["sqs:SendMessage"], ["arn:q"]))
    assert found(wide, narrow) == []
    assert found(wide, json.loads(json.dumps(wide))) == []


def test_resource_policies_ingress_public_access_keys_and_permissions():
    bucket_policy = {"Statement": [statement("s3:GetObject", "arn:b/*", {"AWS": "arn:a"})]}
    wider = {"Statement": [statement("s3:GetObject", "arn:b/*", "*")]}
    closed = {"BlockPublicAcls": True, "BlockPublicPolicy": True}
    old = template(
        Policy=("AWS::S3::BucketPolicy", {"Bucket": "b", "PolicyDocument": bucket_policy}),
        Group=("AWS::EC2::SecurityGroup", {"GroupDescription": "x", "SecurityGroupIngress": []}),
        Data=("AWS::S3::Bucket", {"PublicAccessBlockConfiguration": closed}),
        Logs=("AWS::S3::Bucket", {"PublicAccessBlockConfiguration": closed}),
        Key=("AWS::KMS::Key", {"KeyPolicy": bucket_policy}),
    )
    open_rule = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "0.0.0.0/0"}
    new = template(
        Policy=("AWS::S3::BucketPolicy", {"Bucket": "b", "PolicyDocument": wider}),
        Group=(
            "AWS::EC2::SecurityGroup",
            {"GroupDescription": "x", "SecurityGroupIngress": [open_rule]},
        ),
        Data=("AWS::S3::Bucket", {"PublicAccessBlockConfiguration": {"BlockPublicAcls": True}}),
        Logs=("AWS::S3::Bucket", {}),
        Key=("AWS::KMS::Key", {"KeyPolicy": {"Statement": []}}),
        Invoke=(
            "AWS::Lambda::Permission",
            {"Action": "lambda:InvokeFunction", "FunctionName": "f", "Principal": "*"},
        ),
    )
    assert found(old, new) == [
        ("Data", "public-access-block"),
        ("Group", "ingress"),
        ("Invoke", "lambda-permission"),
        ("Key", "kms-key-policy"),
        ("Logs", "public-access-block"),
        ("Policy", "new-principal"),
    ]
    by_id = {f["logical_id"]: f["detail"] for f in flags(old, new)}
    assert by_id["Group"].startswith("opens to the internet")
    assert by_id["Data"] == "public access block loosened: BlockPublicPolicy off"
    assert by_id["Logs"] == "public access block removed"


def test_a_new_stack_s_grants_are_all_new():
    new = template(Fn=role(["lambda.amazonaws.com"], ["logs:PutLogEvents"], ["arn:l"]))
    assert found({}, new) == [("Fn", "trust-principal"), ("Fn", "iam-actions")]
