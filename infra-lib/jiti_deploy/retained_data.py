"""What becomes of the resources a stack's deletion kept (DeletionPolicy Retain), for
`destroy-stacks`: listed and kept, each with the command that deletes it, or, with
`--destroy-data`, deleted: DynamoDB tables, S3 buckets (every object version and delete marker
first: S3 deletes only an empty bucket) and log groups. Other types are always kept and listed.
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from jiti_deploy.destinations import Destination

TABLE, BUCKET, LOG_GROUP = "AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::Logs::LogGroup"
GONE = ("ResourceNotFoundException", "NoSuchBucket")


def command(type_: str, physical_id: str, region: str) -> str:
    """The AWS CLI command that deletes a kept resource."""
    if type_ == TABLE:
        return f"aws dynamodb delete-table --table-name {physical_id} --region {region}"
    if type_ == BUCKET:
        return (
            f"empty s3://{physical_id} of every object version (a versioned bucket keeps them), "
            f"then: aws s3api delete-bucket --bucket {physical_id} --region {region}"
        )
    if type_ == LOG_GROUP:
        return f"aws logs delete-log-group --log-group-name {physical_id} --region {region}"
    return (
        f"aws cloudcontrol delete-resource --type-name {type_} --identifier {physical_id} "
        f"--region {region}"
    )


def _delete_table(destination: Destination, name: str) -> None:
    dynamodb = destination.client("dynamodb")
    dynamodb.delete_table(TableName=name)
    dynamodb.get_waiter("table_not_exists").wait(
        TableName=name, WaiterConfig={"Delay": 2, "MaxAttempts": 300}
    )


def _delete_bucket(destination: Destination, name: str) -> None:
    """Every version and delete marker, a page (at most 1,000) at a time, then the bucket."""
    s3 = destination.client("s3")
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
        objects = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
        ]
        if objects:
            done = s3.delete_objects(Bucket=name, Delete={"Objects": objects, "Quiet": True})
            if done.get("Errors"):
                first = done["Errors"][0]
                raise RuntimeError(f"{first['Key']}: {first.get('Message', first.get('Code'))}")
    s3.delete_bucket(Bucket=name)


def _delete_log_group(destination: Destination, name: str) -> None:
    destination.client("logs").delete_log_group(logGroupName=name)


DELETERS = {TABLE: _delete_table, BUCKET: _delete_bucket, LOG_GROUP: _delete_log_group}


def _code(e: Exception) -> str:
    return e.response["Error"].get("Code", "") if isinstance(e, ClientError) else ""


def handle(destination: Destination, events: list[dict], *, delete: bool, log) -> list[dict]:
    """One row per kept resource (`events`: its DELETE_SKIPPED events) saying what became of
    it: `kept` (with `command`), `deleted`, or `failed` (with `error` and `command`)."""
    rows = []
    for e in events:
        type_, physical = e["ResourceType"], e.get("PhysicalResourceId") or "?"
        row = {
            "logical_id": e["LogicalResourceId"],
            "type": type_,
            "physical_id": physical,
            "fate": "kept",
            "command": command(type_, physical, destination.region),
        }
        if delete and type_ in DELETERS and physical != "?":
            try:
                DELETERS[type_](destination, physical)
                row["fate"] = "deleted"
                del row["command"]
            except (ClientError, BotoCoreError, RuntimeError) as err:
                if _code(err) in GONE:
                    row["fate"] = "deleted"
                    del row["command"]
                else:
                    row["fate"], row["error"] = "failed", str(err)
        log(f"  {row['fate']} {row['logical_id']} ({type_}): {physical}")
        rows.append(row)
    return rows


def describe(row: dict) -> str:
    """One line for the summary."""
    text = f"{row['logical_id']} ({row['type']}): {row['physical_id']}: {row['fate']}"
    if row.get("error"):
        text += f" ({row['error']})"
    if row.get("command"):
        text += f"; to delete it: {row['command']}"
    return text
