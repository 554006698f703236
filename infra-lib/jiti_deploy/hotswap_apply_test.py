"""A function's code update as AWS answers it: waited for while Lambda says `InProgress`."""

from __future__ import annotations

import base64
import hashlib
from types import SimpleNamespace

import boto3
from botocore.stub import Stubber

from jiti_deploy import hotswap_apply

SHA = hashlib.sha256(b"code").hexdigest()
ASSET = SimpleNamespace(key=f"assets/{SHA}.zip", sha256=SHA, address="apps/hs:lambda")
BUCKET = SimpleNamespace(name="jiti-assets-111111111111-eu-west-1")


def test_an_update_in_progress_is_waited_for_until_lambda_says_successful():
    """UpdateFunctionCode answers `LastUpdateStatus: InProgress` on AWS (Lambda API reference,
    UpdateFunctionCode response, and "Lambda function states"); `function_updated_v2` then
    polls GetFunction until `Configuration.LastUpdateStatus` is `Successful`."""
    lam = boto3.client(
        "lambda", region_name="eu-west-1", aws_access_key_id="a", aws_secret_access_key="b"
    )
    stub = Stubber(lam)
    code_sha = base64.b64encode(bytes.fromhex(SHA)).decode()
    stub.add_response(
        "update_function_code",
        {"FunctionName": "fn", "CodeSha256": code_sha, "LastUpdateStatus": "InProgress"},
        {
            "FunctionName": "fn",
            "S3Bucket": BUCKET.name,
            "S3Key": ASSET.key,
            "S3ObjectVersion": "v1",
        },
    )
    stub.add_response(
        "get_function",
        {"Configuration": {"LastUpdateStatus": "Successful"}},
        {"FunctionName": "fn"},
    )
    with stub:
        hotswap_apply.update_code(lam, "fn", BUCKET, ASSET, "v1", poll_s=0)
    stub.assert_no_pending_responses()
