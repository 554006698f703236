"""The assets bucket's protections are read side by side and written one by one."""

from __future__ import annotations

import threading

from jiti_deploy import bucket_settings

READS = 5  # the four protections and the policy


class BucketAsReadAtOnce:
    """An S3 client whose reads each wait until all READS are under way: reads made one after
    another never get past the first. Its answers are those of a bucket as it should be."""

    def __init__(self, versioning: str = "Enabled"):
        self.barrier = threading.Barrier(READS, timeout=10)
        self.versioning = versioning
        self.writes: list[str] = []
        self.writing = threading.Lock()

    def _read(self, answer):
        self.barrier.wait()
        return answer

    def get_public_access_block(self, **_):
        block = bucket_settings.PUBLIC_ACCESS_BLOCK
        return self._read({"PublicAccessBlockConfiguration": block})

    def get_bucket_encryption(self, **_):
        return self._read({"ServerSideEncryptionConfiguration": bucket_settings.DEFAULT_ENCRYPTION})

    def get_bucket_versioning(self, **_):
        return self._read({"Status": self.versioning} if self.versioning else {})

    def get_bucket_lifecycle_configuration(self, **_):
        return self._read({"Rules": [bucket_settings.OLD_VERSIONS]})

    def put_bucket_versioning(self, **_):
        assert self.writing.acquire(blocking=False), "two writes at once"
        self.writes.append("versioning")
        self.writing.release()


def owned(**kwargs):
    return {"Bucket": "b", "ExpectedBucketOwner": "111111111111", **kwargs}


def test_the_reads_are_made_side_by_side():
    s3 = BucketAsReadAtOnce()
    repaired, found = bucket_settings.repair(
        s3, owned, {"policy": lambda: s3._read(["the policy's statements"])}
    )
    assert repaired == []
    assert found == {"policy": ["the policy's statements"]}


def test_what_differs_is_written_after_the_reads():
    s3 = BucketAsReadAtOnce(versioning="")  # never set
    repaired, _ = bucket_settings.repair(s3, owned, {"policy": lambda: s3._read([])})
    assert repaired == ["versioning"]
    assert s3.writes == ["versioning"]
