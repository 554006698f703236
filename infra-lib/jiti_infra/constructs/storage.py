"""Stateful resources: kept on stack deletion and replacement, so a redeploy loses no data.

`RetainExceptOnCreate`: kept when the stack is deleted, but deleted when the create that made
it fails and rolls back (it holds no data yet), so a failed first deploy leaves nothing behind
that the next one would collide with.
"""

from __future__ import annotations

from troposphere import GetAtt, Join, Ref, dynamodb, s3

from jiti_contract import SITE_CONTENT_METADATA
from jiti_infra.app import App, Asset
from jiti_infra.constructs.functions import Function
from jiti_infra.constructs.policy import skip_checks

RETAIN = {"DeletionPolicy": "RetainExceptOnCreate", "UpdateReplacePolicy": "Retain"}
NONCURRENT_VERSION_DAYS = 30


def table(
    app: App, name: str, *, partition_key: str, sort_key: str | None = None
) -> dynamodb.Table:
    """An on-demand DynamoDB table with string keys; outputs `<name>Name` and `<name>Arn`, for
    the app's users and for other apps' `inputs`."""
    keys = [(partition_key, "HASH")] + ([(sort_key, "RANGE")] if sort_key else [])
    t = app.add(
        dynamodb.Table(
            name,
            TableName=app.physical_name(name),
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                dynamodb.AttributeDefinition(AttributeName=k, AttributeType="S") for k, _ in keys
            ],
            KeySchema=[dynamodb.KeySchema(AttributeName=k, KeyType=kind) for k, kind in keys],
            PointInTimeRecoverySpecification=dynamodb.PointInTimeRecoverySpecification(
                PointInTimeRecoveryEnabled=True
            ),
            **RETAIN,
        )
    )
    app.output(f"{name}Name", Ref(t), f"Name of the {name} table")
    app.output(f"{name}Arn", GetAtt(t, "Arn"), f"ARN of the {name} table")
    return t


def allow_table_write(fn: Function, t: dynamodb.Table, env_var: str) -> None:
    """Let `fn` read and write items of `t`, whose name it finds in `env_var`."""
    fn.allow(
        [
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:Query",
        ],
        [GetAtt(t, "Arn")],
    )
    fn.set_env(env_var, Ref(t))


def allow_table_read(fn: Function, *, arn, name, env_var: str) -> None:
    """Let `fn` read (never write) items of the table with `arn`, whose name it finds in
    `env_var`: a table of another app, e.g. `arn=Ref(app.input("OrdersTableArn"))`."""
    fn.allow(["dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"], [arn])
    fn.set_env(env_var, name)


def static_site(app: App, name: str, *, content: Asset, index: str = "index.html") -> s3.Bucket:
    """A website bucket filled from an archive asset (a `.zip` from an `archive` target):
    public reads, encrypted at rest, versioned; outputs `<name>Name`, `<name>Url` and
    `<name>Content` (where the content came from).

    CloudFormation cannot unpack an archive into a bucket by itself, so the template names the
    asset in its metadata and the deploy unpacks it once the stack is live.
    """
    bucket = s3.Bucket(
        name,
        BucketName=Join(
            "-",
            [
                app.physical_name(name.lower(), lowercase=True),
                Ref("AWS::AccountId"),
                Ref("AWS::Region"),
            ],
        ),
        WebsiteConfiguration=s3.WebsiteConfiguration(IndexDocument=index, ErrorDocument=index),
        PublicAccessBlockConfiguration=s3.PublicAccessBlockConfiguration(
            BlockPublicAcls=True,
            IgnorePublicAcls=True,
            BlockPublicPolicy=False,
            RestrictPublicBuckets=False,
        ),
        # S3-managed keys: anonymous website reads cannot use a KMS key.
        BucketEncryption=s3.BucketEncryption(
            ServerSideEncryptionConfiguration=[
                s3.ServerSideEncryptionRule(
                    ServerSideEncryptionByDefault=s3.ServerSideEncryptionByDefault(
                        SSEAlgorithm="AES256"
                    )
                )
            ]
        ),
        # Overwritten or deleted content can be restored for a month.
        VersioningConfiguration=s3.VersioningConfiguration(Status="Enabled"),
        LifecycleConfiguration=s3.LifecycleConfiguration(
            Rules=[
                s3.LifecycleRule(
                    Id="expire-old-versions",
                    Status="Enabled",
                    NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(
                        NoncurrentDays=NONCURRENT_VERSION_DAYS
                    ),
                )
            ]
        ),
        **RETAIN,
    )
    public = "public by design: a website bucket serves anonymous reads through its bucket policy"
    skip_checks(
        bucket,
        {
            "CKV_AWS_54": public,
            "CKV_AWS_56": public,
            "CKV_AWS_18": (
                "access logs go to a log bucket set up once per account, which an app stack "
                "does not own"
            ),
        },
    )
    app.add(bucket)
    app.add(
        s3.BucketPolicy(
            f"{name}PublicRead",
            Bucket=Ref(bucket),
            PolicyDocument={
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": Join("", [GetAtt(bucket, "Arn"), "/*"]),
                    }
                ],
            },
        )
    )
    site_contents = app.template.metadata.setdefault(SITE_CONTENT_METADATA, [])
    site_contents.append({"Asset": content.key, "BucketOutput": f"{name}Name"})
    app.output(f"{name}Name", Ref(bucket), f"Name of the {name} bucket")
    app.output(f"{name}Url", GetAtt(bucket, "WebsiteURL"), f"Website URL of the {name} bucket")
    app.output(
        f"{name}Content",
        Join("", ["s3://", content.bucket, f"/{content.key}"]),
        f"The archive the {name} bucket's content was unpacked from",
    )
    return bucket
