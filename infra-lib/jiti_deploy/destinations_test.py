"""What a Destination shares between the stacks of one run."""

from __future__ import annotations

import os
import threading

import boto3
import pytest

from jiti_deploy import local_aws
from jiti_deploy.destinations import Destination, resolve
from jiti_deploy.errors import DeployError


def target() -> Destination:
    session = boto3.Session(
        region_name="eu-west-1", aws_access_key_id="k", aws_secret_access_key="s"
    )
    return Destination(session, "http://127.0.0.1:9", local=True)


def test_one_client_per_service():
    aws = target()
    assert aws.client("cloudformation") is aws.client("cloudformation")
    assert aws.client("s3") is not aws.client("cloudformation")
    assert aws.client("s3").meta.region_name == "eu-west-1"


def test_once_runs_each_action_once_per_target():
    aws, other, calls = target(), target(), []
    for t in (aws, aws, other):
        t.once("bucket b", lambda: calls.append("b"))
    aws.once("bucket c", lambda: calls.append("c"))
    assert calls == ["b", "b", "c"]


def test_a_failed_action_is_tried_again():
    aws, calls = target(), []

    def fail_first():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("throttled")

    for _ in range(3):
        try:
            aws.once("bucket b", fail_first)
        except RuntimeError:
            pass
    assert len(calls) == 2


def test_clients_are_handed_out_while_an_action_runs_once():
    """The assets bucket's check (an action run once) must not hold up the run's other calls:
    a hotswap reads the live template while the bucket is checked."""
    aws, started, release, got = target(), threading.Event(), threading.Event(), []

    def bucket_check():
        started.set()
        release.wait(10)

    checking = threading.Thread(target=aws.once, args=("bucket b", bucket_check))
    checking.start()
    assert started.wait(10)
    reader = threading.Thread(target=lambda: got.append(aws.client("cloudformation")))
    reader.start()
    reader.join(5)
    handed_out = bool(got)
    release.set()
    checking.join(10)
    reader.join(10)
    assert handed_out, "a client waited for the action"


def test_the_same_action_waits_for_the_one_running():
    """Two deploys of one run needing the same bucket: the second waits, and it runs once."""
    aws, calls, started, release = target(), [], threading.Event(), threading.Event()

    def bucket_check():
        calls.append(1)
        started.set()
        release.wait(10)

    first = threading.Thread(target=aws.once, args=("bucket b", bucket_check))
    first.start()
    assert started.wait(10)
    second = threading.Thread(target=aws.once, args=("bucket b", bucket_check))
    second.start()
    second.join(0.2)
    assert second.is_alive()  # waiting for the first
    release.set()
    first.join(10)
    second.join(10)
    assert calls == [1]


# --- where a deploy goes: [jiti].target ---------------------------------------------------


@pytest.fixture
def no_aws_config(monkeypatch, tmp_path):
    """An environment with no AWS credentials anywhere (and no instance metadata)."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    (tmp_path / "empty").write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "empty"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "empty"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr(
        local_aws,
        "ensure_running",
        lambda state_dir, log=print: local_aws.LocalAws("http://127.0.0.1:9", 0),
    )
    return tmp_path


def with_web_identity(monkeypatch, tmp_path) -> None:
    """Credentials as a CI runner gets them from OIDC: a token file and a role."""
    (tmp_path / "token").write_text("eyJ.token.value")
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(tmp_path / "token"))
    monkeypatch.setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/ci")


def test_local_target_ignores_credentials_that_are_configured(no_aws_config, monkeypatch):
    with_web_identity(monkeypatch, no_aws_config)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "example")
    destination = resolve("local", "eu-west-1", no_aws_config)
    assert destination.local and destination.endpoint_url == "http://127.0.0.1:9"
    assert destination.kind == "local" and destination.region == "eu-west-1"


def test_auto_target_follows_the_whole_credential_chain(no_aws_config, monkeypatch):
    """Web identity (as on a CI runner) is credentials: `auto` deploys to AWS, not locally."""
    assert resolve("auto", None, no_aws_config).local
    with_web_identity(monkeypatch, no_aws_config)
    destination = resolve("auto", None, no_aws_config)
    assert not destination.local and destination.kind == "aws"


def test_aws_target_without_credentials_is_refused(no_aws_config):
    with pytest.raises(DeployError, match="target is aws, but no AWS credentials were found"):
        resolve("aws", None, no_aws_config)
