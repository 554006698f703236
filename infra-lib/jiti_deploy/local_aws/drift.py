"""Drift detection for the local AWS (fix 14 of `fidelity`): moto implements neither
DetectStackDrift nor DescribeStackDriftDetectionStatus nor DescribeStackResourceDrifts.

As CloudFormation does, a detection compares each resource's properties in the stack's template
(intrinsic functions evaluated against the stack) with the resource as its service has it now,
only for the properties the template sets: a resource that is gone is DELETED, one whose
properties differ MODIFIED, and one of a type this module cannot read NOT_CHECKED. The types it
reads are those of jiti's sample apps: S3 buckets, SQS queues, DynamoDB tables and Lambda
functions (ACTUAL)."""

from __future__ import annotations

import copy
import json
import threading
import uuid

from moto.awslambda.models import lambda_backends
from moto.cloudformation import parsing, responses
from moto.cloudformation.exceptions import ValidationError
from moto.core.utils import utcnow
from moto.dynamodb.models import dynamodb_backends
from moto.s3.models import s3_backends
from moto.sqs.models import sqs_backends

_detections: dict[str, dict] = {}  # detection id -> status
_drifts: dict[str, list[dict]] = {}  # stack id -> the last detection's resource drifts
_lock = threading.Lock()


def _queue(resource, account: str, region: str) -> dict | None:
    queue = sqs_backends[account][region].queues.get(resource.name)
    if queue is None:
        return None
    actual = {k: v for k, v in queue.attributes.items() if k in SQS_PROPERTIES and v is not None}
    if isinstance(actual.get("RedrivePolicy"), str):
        actual["RedrivePolicy"] = json.loads(actual["RedrivePolicy"])
    return actual


SQS_PROPERTIES = (
    "ContentBasedDeduplication",
    "DelaySeconds",
    "FifoQueue",
    "KmsDataKeyReusePeriodSeconds",
    "KmsMasterKeyId",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "RedrivePolicy",
    "VisibilityTimeout",
)


def _table(resource, account: str, region: str) -> dict | None:
    table = dynamodb_backends[account][region].tables.get(resource.name)
    if table is None:
        return None
    actual = {
        "TableName": table.name,
        "BillingMode": table.billing_mode,
        "AttributeDefinitions": table.attr,
        "KeySchema": table.schema,
    }
    if table.billing_mode == "PROVISIONED":
        actual["ProvisionedThroughput"] = {
            k: table.throughput[k] for k in ("ReadCapacityUnits", "WriteCapacityUnits")
        }
    if table.stream_specification:
        actual["StreamSpecification"] = {
            "StreamViewType": table.stream_specification.get("StreamViewType")
        }
    return actual


def _bucket(resource, account: str, region: str) -> dict | None:
    bucket = s3_backends[account]["global"].buckets.get(resource.name)
    if bucket is None:
        return None
    actual = {"BucketName": bucket.name}
    if bucket.versioning_status:
        actual["VersioningConfiguration"] = {"Status": bucket.versioning_status}
    if bucket.encryption:
        actual["BucketEncryption"] = {
            "ServerSideEncryptionConfiguration": [
                {
                    "ServerSideEncryptionByDefault": {
                        k: v for k, v in rule.get("ApplyServerSideEncryptionByDefault", {}).items()
                    }
                }
                for rule in _listed(bucket.encryption.get("Rule", []))
            ]
        }
    return actual


def _function(resource, account: str, region: str) -> dict | None:
    try:
        fn = lambda_backends[account][region].get_function(resource.function_name)
    except Exception:  # noqa: BLE001 - moto's not-found error
        return None
    actual = {
        "FunctionName": fn.function_name,
        "Handler": fn.handler,
        "Runtime": fn.run_time,
        "Role": fn.role,
        "MemorySize": fn.memory_size,
        "Timeout": fn.timeout,
        "Description": fn.description,
    }
    if fn.environment_vars:
        actual["Environment"] = {"Variables": dict(fn.environment_vars)}
    return actual


ACTUAL = {
    "AWS::SQS::Queue": _queue,
    "AWS::DynamoDB::Table": _table,
    "AWS::S3::Bucket": _bucket,
    "AWS::Lambda::Function": _function,
}


def _listed(value) -> list:
    return value if isinstance(value, list) else [value]


def _same(expected, actual) -> bool:
    """Equal as CloudFormation compares them: numbers and booleans as their text."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        return set(expected) == set(actual) and all(_same(expected[k], actual[k]) for k in expected)
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(_same(e, a) for e, a in zip(expected, actual))
    return str(expected).lower() == str(actual).lower()


def _differences(expected: dict, actual: dict, path: str = "") -> list[dict]:
    found = []
    for key in sorted(expected):
        here = f"{path}/{key}"
        if key not in actual:
            found.append(_difference(here, expected[key], None, "REMOVE"))
        elif isinstance(expected[key], dict) and isinstance(actual[key], dict):
            found += _differences(expected[key], actual[key], here)
        elif not _same(expected[key], actual[key]):
            found.append(_difference(here, expected[key], actual[key], "NOT_EQUAL"))
    return found


def _difference(path: str, expected, actual, kind: str) -> dict:
    def text(v):
        return None if v is None else (v if isinstance(v, str) else json.dumps(v, sort_keys=True))

    return {
        "PropertyPath": path,
        "ExpectedValue": text(expected),
        "ActualValue": text(actual),
        "DifferenceType": kind,
    }


def resource_drift(stack, logical_id: str, template: dict) -> dict:
    """One resource of `stack` against its template (`template`: its entry in Resources)."""
    resource_type = template.get("Type", "?")
    resource = stack.resource_map._parsed_resources.get(logical_id)
    physical_id = str(getattr(resource, "physical_resource_id", "") or "")
    drift = {
        "StackId": stack.stack_id,
        "LogicalResourceId": logical_id,
        "PhysicalResourceId": physical_id,
        "ResourceType": resource_type,
        "Timestamp": utcnow(),
    }
    read = ACTUAL.get(resource_type)
    if read is None or resource is None:
        return {**drift, "StackResourceDriftStatus": "NOT_CHECKED"}
    expected = parsing.clean_json(
        copy.deepcopy(template.get("Properties") or {}), stack.resource_map
    )
    actual = read(resource, stack.account_id, stack.region_name)
    if actual is None:
        return {
            **drift,
            "StackResourceDriftStatus": "DELETED",
            "ExpectedProperties": json.dumps(expected),
        }
    checked = {k: v for k, v in expected.items() if k in actual or k in _checked(resource_type)}
    differences = _differences(checked, actual)
    return {
        **drift,
        "ExpectedProperties": json.dumps(checked, sort_keys=True),
        "ActualProperties": json.dumps(
            {k: actual[k] for k in checked if k in actual}, sort_keys=True
        ),
        "PropertyDifferences": differences,
        "StackResourceDriftStatus": "MODIFIED" if differences else "IN_SYNC",
    }


def _checked(resource_type: str) -> tuple[str, ...]:
    """Properties read for the type even when the service no longer reports them (removed)."""
    return SQS_PROPERTIES if resource_type == "AWS::SQS::Queue" else ()


def detect(stack) -> str:
    resources = stack.template_dict.get("Resources", {})
    drifts = [resource_drift(stack, logical_id, r) for logical_id, r in sorted(resources.items())]
    drifted = [d for d in drifts if d["StackResourceDriftStatus"] in ("MODIFIED", "DELETED")]
    detection = str(uuid.uuid4())
    with _lock:
        _drifts[stack.stack_id] = drifts
        _detections[detection] = {
            "StackId": stack.stack_id,
            "StackDriftDetectionId": detection,
            "StackDriftStatus": "DRIFTED" if drifted else "IN_SYNC",
            "DetectionStatus": "DETECTION_COMPLETE",
            "DriftedStackResourceCount": len(drifted),
            "Timestamp": utcnow(),
        }
    return detection


def _detect_stack_drift(self):
    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    return responses.ActionResult({"StackDriftDetectionId": detect(stack)})


def _describe_stack_drift_detection_status(self):
    detection = self._get_param("StackDriftDetectionId")
    with _lock:
        status = _detections.get(detection)
    if status is None:
        raise ValidationError(message=f"Drift detection {detection} does not exist")
    return responses.ActionResult(status)


def _describe_stack_resource_drifts(self):
    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    wanted = self._get_param("StackResourceDriftStatusFilters", [])
    with _lock:
        drifts = _drifts.get(stack.stack_id, [])
    if wanted:
        drifts = [d for d in drifts if d["StackResourceDriftStatus"] in wanted]
    return responses.ActionResult({"StackResourceDrifts": drifts})


def apply() -> None:
    response = responses.CloudFormationResponse
    response.detect_stack_drift = _detect_stack_drift
    response.describe_stack_drift_detection_status = _describe_stack_drift_detection_status
    response.describe_stack_resource_drifts = _describe_stack_resource_drifts
