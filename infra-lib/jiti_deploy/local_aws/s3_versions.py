"""Pinned S3 object versions for the local AWS (fix 18 of `fidelity`): moto reads the newest
version of a key where CloudFormation and Lambda read the one named.

jiti pins what CloudFormation reads, so that bytes put at an asset's key later change nothing
deployed: a template by `TemplateURL` with `?versionId=` (CloudFormation API reference,
CreateChangeSet `TemplateURL`), and a function's code by `Code.S3ObjectVersion` (CloudFormation,
`AWS::Lambda::Function Code`). moto ignores both and takes whatever is at the key now.
"""

from __future__ import annotations

import functools
import urllib.parse

from moto.awslambda import models as lambda_models
from moto.cloudformation import models as cfn_models
from moto.cloudformation import responses as cfn_responses
from moto.cloudformation.exceptions import ValidationError
from moto.s3.models import s3_backends


def _pinned_template(original):
    @functools.wraps(original)
    def get_stack_from_s3_url(template_url: str, account_id: str, partition: str) -> str:
        url = urllib.parse.urlparse(template_url)
        version = urllib.parse.parse_qs(url.query).get("versionId")
        if not version:
            return original(template_url, account_id=account_id, partition=partition)
        bucket, key = url.netloc.split(".")[0], urllib.parse.unquote(url.path.lstrip("/"))
        found = s3_backends[account_id][partition].get_object(bucket, key, version_id=version[0])
        if found is None:
            raise ValidationError(message=f"TemplateURL {template_url}: no such object version")
        return found.value.decode("utf-8")

    return get_stack_from_s3_url


def _pinned_code(account_id: str, partition: str, data: dict):
    """The function's code: the version `S3ObjectVersion` names, if it names one."""
    version = data.get("S3ObjectVersion")
    if not version:
        return _moto_code(account_id, partition=partition, data=data)
    backend = s3_backends[account_id][partition]
    found = backend.get_object(data["S3Bucket"], data["S3Key"], version_id=version)
    if found is None:
        raise ValueError(
            "InvalidParameterValueException",
            "Error occurred while GetObject. S3 Error Code: NoSuchVersion. S3 Error Message: "
            "The specified version does not exist.",
        )
    return found


def _pinned_update(original):
    """An update of the code (a stack update) reads the named version too."""

    @functools.wraps(original)
    def set_function_code(self, updated_spec: dict) -> None:
        original(self, updated_spec)
        if updated_spec.get("S3ObjectVersion") and "S3Key" in updated_spec:
            key = _pinned_code(self.account_id, self.partition, updated_spec)
            (
                self.code_bytes,
                self.code_size,
                self.code_sha_256,
                self.code_digest,
            ) = lambda_models._s3_content(key)

    return set_function_code


_moto_code = lambda_models._validate_s3_bucket_and_key


def apply() -> None:
    pinned = _pinned_template(cfn_responses.get_stack_from_s3_url)
    cfn_responses.get_stack_from_s3_url = pinned
    cfn_models.get_stack_from_s3_url = pinned
    lambda_models._validate_s3_bucket_and_key = _pinned_code
    function = lambda_models.LambdaFunction
    function._set_function_code = _pinned_update(function._set_function_code)
