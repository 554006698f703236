"""Checked object checksums for the local AWS (fix 19 of `fidelity`): moto keeps whatever
checksum a PutObject says its bytes have, where S3 computes it and refuses the upload when it
differs (400 `BadDigest`, "The SHA256 you specified did not match the calculated checksum.";
S3 API reference, PutObject; localstack `tests/aws/services/s3/test_s3.snapshot.json`
`TestS3PutObjectChecksum::test_put_object_checksum[SHA256]` `put-wrong-checksum-value`).

jiti takes an asset in the assets bucket for the version's bytes when S3's SHA-256 of it is the
asset's: with moto's behaviour, whoever plants bytes could claim any checksum.
"""

from __future__ import annotations

import functools

from moto.s3 import responses as s3_responses
from moto.s3.exceptions import S3ClientError
from moto.s3.utils import compute_checksum


class BadDigest(S3ClientError):
    code = "BadDigest"

    def __init__(self, algorithm: str):
        super().__init__(
            "BadDigest", f"The {algorithm} you specified did not match the calculated checksum."
        )


def _checked(original):
    @functools.wraps(original)
    def get_checksum(self, response_headers):
        algorithm = self.headers.get("x-amz-sdk-checksum-algorithm", "")
        claimed = self.headers.get(f"x-amz-checksum-{algorithm.lower()}") if algorithm else None
        if claimed:
            actual = compute_checksum(self.body or b"", algorithm=algorithm.upper())
            if (actual.decode() if isinstance(actual, bytes) else actual) != claimed:
                raise BadDigest(algorithm.upper())
        return original(self, response_headers)

    return get_checksum


def apply() -> None:
    response = s3_responses.S3Response
    response._get_checksum = _checked(response._get_checksum)
