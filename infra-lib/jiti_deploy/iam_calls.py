"""The IAM actions and resources a recorded call needs, and whether a policy document allows them.

The action of a CloudFormation, SSM, STS, DynamoDB or CloudWatch Logs call is its operation's
name; S3's REST calls are mapped by the table below (the S3 User Guide's "Required permissions
for Amazon S3 API operations"). Two calls need no permission, or more than one:
- STS `GetCallerIdentity` needs none (its API reference: "No permissions are required").
- S3 `HeadObject` of a missing key answers 404 only to a caller with `s3:ListBucket` on the
  bucket, 403 otherwise (its API reference), and jiti reads a 403 as "not your bucket".
Policies are matched as IAM matches them: `*` and `?` wildcards, actions case-insensitively;
only `Allow` statements with `Action` and `Resource` are supported (what `docs/iam/` uses).
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass
from pathlib import Path

from jiti_aws_proxy import Call

# (method, on an object, subresource) -> action; subresource None: no query key matters.
S3_ACTIONS = {
    ("HEAD", False, None): "s3:ListBucket",  # HeadBucket
    ("HEAD", True, None): "s3:GetObject",  # HeadObject
    ("GET", True, None): "s3:GetObject",
    ("PUT", True, None): "s3:PutObject",
    ("PUT", False, None): "s3:CreateBucket",
    ("GET", False, "list-type"): "s3:ListBucket",  # ListObjectsV2
    ("GET", False, "versions"): "s3:ListBucketVersions",  # ListObjectVersions
    ("GET", False, "policy"): "s3:GetBucketPolicy",
    ("PUT", False, "policy"): "s3:PutBucketPolicy",
    ("PUT", False, "versioning"): "s3:PutBucketVersioning",
    ("PUT", False, "encryption"): "s3:PutEncryptionConfiguration",
    ("PUT", False, "lifecycle"): "s3:PutLifecycleConfiguration",
    ("PUT", False, "publicAccessBlock"): "s3:PutBucketPublicAccessBlock",
    ("GET", False, "publicAccessBlock"): "s3:GetBucketPublicAccessBlock",
    ("GET", False, "encryption"): "s3:GetEncryptionConfiguration",
    ("GET", False, "versioning"): "s3:GetBucketVersioning",
    ("GET", False, "lifecycle"): "s3:GetLifecycleConfiguration",
    ("HEAD", True, "versionId"): "s3:GetObjectVersion",
    ("GET", True, "versionId"): "s3:GetObjectVersion",
    ("DELETE", False, None): "s3:DeleteBucket",
}
NO_PERMISSION = {"sts:GetCallerIdentity"}


@dataclass(frozen=True)
class Need:
    """One action on one resource (an ARN, or `*` for calls on no resource)."""

    action: str
    resource: str
    operation: str  # the call that needs it


def _s3(call: Call) -> list[tuple[str, str]]:
    bucket, _, key = call.path.lstrip("/").partition("/")
    if call.method == "POST" and "delete" in call.query:  # DeleteObjects
        body = call.params.get("body", "")
        action = "s3:DeleteObjectVersion" if "<VersionId>" in body else "s3:DeleteObject"
        keys = re.findall(r"<Key>(.*?)</Key>", body)
        return [(action, f"arn:aws:s3:::{bucket}/{k}") for k in keys]
    sub = next((q for q in call.query if (call.method, bool(key), q) in S3_ACTIONS), None)
    action = S3_ACTIONS.get((call.method, bool(key), sub))
    if action is None:
        raise ValueError(f"no IAM action known for S3 {call.method} {call.path}?{call.query}")
    resource = f"arn:aws:s3:::{bucket}" + (f"/{key}" if key else "")
    needs = [(action, resource)]
    if call.method == "HEAD" and key and call.status == 404:
        needs.append(("s3:ListBucket", f"arn:aws:s3:::{bucket}"))
    return needs


class Recording:
    """Turns a run's calls into what they need, in one account and region; change sets named
    by their ARN are traced to their stack through the CreateChangeSet call that named them."""

    def __init__(self, account: str, region: str):
        self.account, self.region = account, region
        self._change_sets: dict[str, str] = {}  # change set name -> stack name

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account}:{resource}"

    def _stack(self, name: str) -> str:
        if name.startswith("arn:"):
            return name
        return self._arn("cloudformation", f"stack/{name}/*")

    def _cloudformation(self, params: dict) -> str:
        if "StackSetName" in params:
            return self._arn("cloudformation", f"stackset/{params['StackSetName']}:*")
        change_set = params.get("ChangeSetName", "")
        if params.get("StackName"):
            if change_set and not change_set.startswith("arn:"):
                self._change_sets[change_set] = params["StackName"]
            return self._stack(params["StackName"])
        if change_set.startswith("arn:"):
            return self._stack(self._change_sets[change_set.split("/")[1]])
        return "*"  # a listing: DescribeStacks of the whole region, ListStackSets

    def _ssm(self, params: dict) -> list[str]:
        names = params.get("Names") or [params["Name"]]
        return [self._arn("ssm", "parameter/" + n.lstrip("/")) for n in names]

    def needs(self, call: Call) -> list[Need]:
        op = call.operation
        service, name = op.split(":", 1)
        if op in NO_PERMISSION:
            return []
        if service == "s3":
            pairs = _s3(call)
        elif service == "cloudformation":
            pairs = [(op, self._cloudformation(call.params))]
        elif service == "ssm":
            pairs = [(op, r) for r in self._ssm(call.params)]
        elif service == "dynamodb":  # destroy-stacks --jiti-destroy-data
            pairs = [(op, self._arn("dynamodb", f"table/{call.params['TableName']}"))]
        elif service == "logs":
            pairs = [(op, self._arn("logs", f"log-group:{call.params['logGroupName']}"))]
        elif op == "sts:AssumeRole":
            pairs = [(op, call.params["RoleArn"])]
        else:
            raise ValueError(f"no IAM action known for {op}")
        return [Need(action, resource, op) for action, resource in pairs]


@dataclass(frozen=True)
class Grant:
    """One action pattern of one Allow statement, and its resource patterns."""

    sid: str
    action: str
    resources: tuple[str, ...]

    def allows(self, need: Need) -> bool:
        if not fnmatch.fnmatchcase(need.action.lower(), self.action.lower()):
            return False
        return any(fnmatch.fnmatchcase(need.resource, r) for r in self.resources)


def _listed(value) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def grants(path: Path) -> list[Grant]:
    """Every (statement, action) of a policy document."""
    document = json.loads(path.read_text())
    found = []
    for statement in document["Statement"]:
        if statement["Effect"] != "Allow" or set(statement) - {
            "Sid",
            "Effect",
            "Action",
            "Resource",
        }:
            raise ValueError(f"{path}: only plain Allow statements are checked: {statement}")
        for action in _listed(statement["Action"]):
            found.append(Grant(statement["Sid"], action, _listed(statement["Resource"])))
    return found
