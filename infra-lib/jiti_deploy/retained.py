"""The way out when a failed create kept resources (DeletionPolicy Retain).

The stack is then ROLLBACK_COMPLETE, a state in which CloudFormation allows only deleting it
(nothing can be imported into it), and a new create collides with the resources it kept. Either
they are deleted and so is the stack, or the stack is deleted (they stay) and a new stack of the
same name is made from them with an IMPORT change set, which jiti then updates as usual. The
commands are given in full, with the stack's ownership tags, so jiti knows the new stack.
"""

from __future__ import annotations

import json

from jiti_contract import DEPLOYMENT_TAG, REPOSITORY_TAG, deployment_tag
from jiti_deploy import capabilities
from jiti_deploy.deployment import Deployment

# The property that identifies an existing resource of each type in `--resources-to-import`
# (its primary identifier), which is the physical id CloudFormation reports for it; for other
# types, `aws cloudformation get-template-summary --template-body file://import.json` names it.
IDENTIFIERS = {
    "AWS::DynamoDB::Table": "TableName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::SQS::Queue": "QueueUrl",
    "AWS::SNS::Topic": "TopicArn",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::IAM::Role": "RoleName",
    "AWS::KMS::Key": "KeyId",
    "AWS::RDS::DBInstance": "DBInstanceIdentifier",
    "AWS::SSM::Parameter": "Name",
}
CHANGE_SET = "jiti-import"


def kept(events: list[dict]) -> list[dict]:
    """The events of resources a rollback kept."""
    return [e for e in events if e["ResourceStatus"] == "DELETE_SKIPPED"]


def resources_to_import(events: list[dict]) -> str:
    """`--resources-to-import` for the kept resources, as JSON."""
    return json.dumps(
        [
            {
                "ResourceType": e["ResourceType"],
                "LogicalResourceId": e["LogicalResourceId"],
                "ResourceIdentifier": {
                    IDENTIFIERS.get(e["ResourceType"], "IDENTIFIER"): e.get("PhysicalResourceId")
                    or "?"
                },
            }
            for e in kept(events)
        ],
        separators=(",", ":"),
    )


def _import_command(deployment: Deployment, events: list[dict]) -> str:
    name, plan = deployment.stack_name, deployment.plan
    tags = {DEPLOYMENT_TAG: deployment_tag(deployment.address)}
    if plan.repository:
        tags[REPOSITORY_TAG] = plan.repository
    acknowledged = capabilities.acknowledged(deployment)
    flags = f" --capabilities {' '.join(acknowledged)}" if acknowledged else ""
    return (
        f"aws cloudformation create-change-set --stack-name {name} --change-set-name "
        f"{CHANGE_SET} --change-set-type IMPORT --template-body file://import.json"
        f"{flags} --tags {' '.join(f'Key={k},Value={v}' for k, v in tags.items())} "
        f"--resources-to-import '{resources_to_import(events)}'"
    )


def way_out(deployment: Deployment, events: list[dict]) -> list[str]:
    """What the user can do, as lines of the error (in the stack's account and region)."""
    name = deployment.stack_name
    unknown = [e for e in kept(events) if e["ResourceType"] not in IDENTIFIERS]
    return [
        "  A ROLLBACK_COMPLETE stack can only be deleted: nothing can be imported into it. Either",
        "  - drop what it kept: delete the resources above yourself, then",
        f"      aws cloudformation delete-stack --stack-name {name}",
        "    and deploy again; or",
        "  - keep them, in a new stack of the same name:",
        f"      aws cloudformation delete-stack --stack-name {name}",
        f"      aws cloudformation wait stack-delete-complete --stack-name {name}",
        "    (they stay: their DeletionPolicy is Retain). Save as import.json the stack's template "
        "(`pants package` writes it) with only these resources, each keeping its DeletionPolicy, "
        "and no Outputs; then",
        f"      {_import_command(deployment, events)}",
        f"      aws cloudformation wait change-set-create-complete --stack-name {name} "
        f"--change-set-name {CHANGE_SET}",
        f"      aws cloudformation execute-change-set --stack-name {name} "
        f"--change-set-name {CHANGE_SET}",
        "    and deploy again: jiti adds the rest to the imported stack.",
        *(
            [
                "    For IDENTIFIER, use the identifier property that `aws cloudformation "
                "get-template-summary --template-body file://import.json` lists for "
                + ", ".join(sorted({e["ResourceType"] for e in unknown}))
                + "."
            ]
            if unknown
            else []
        ),
    ]
