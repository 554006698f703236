"""The proxy names each call as AWS does, passes requests and answers through unchanged, and
injects the faults it is told to, as AWS would answer them."""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from jiti_aws_proxy import AwsProxy, call, is_read, operation


def auth(service: str) -> dict:
    scope = f"Credential=AKID/20261125/us-east-1/{service}/aws4_request"
    return {"Authorization": f"AWS4-HMAC-SHA256 {scope}, SignedHeaders=host, Signature=0"}


def test_operations_by_protocol():
    query = b"Action=DescribeStacks&Version=2010-05-15"
    assert operation("POST", auth("cloudformation"), query) == "cloudformation:DescribeStacks"
    json_headers = {**auth("logs"), "X-Amz-Target": "Logs_20140328.DescribeLogGroups"}
    assert operation("POST", json_headers, b"{}") == "logs:DescribeLogGroups"
    assert operation("HEAD", auth("s3"), b"") == "s3:Head"
    assert is_read("s3:Head") and is_read("cloudformation:ListExports")
    assert not is_read("cloudformation:CreateChangeSet") and not is_read("s3:Put")


def test_calls_are_recorded_with_what_they_act_on():
    """What an IAM policy needs to judge a call: its operation, S3 bucket, key and subresource,
    and the query or JSON protocol's parameters."""
    query = b"Action=CreateChangeSet&StackName=demo-dev&ChangeSetName=jiti-1"
    seen = call("POST", "/", auth("cloudformation"), query)
    assert seen.params == {
        "Action": "CreateChangeSet",
        "StackName": "demo-dev",
        "ChangeSetName": "jiti-1",
    }
    policy = call("PUT", "/jiti-assets-1-us-east-1?policy", auth("s3"), b"{}")
    assert (policy.path, policy.query, policy.params) == (
        "/jiti-assets-1-us-east-1",
        ("policy",),
        {},
    )
    key = call("HEAD", "/b/assets/a%20b.zip", auth("s3"), b"")
    assert (key.operation, key.path, key.query) == ("s3:Head", "/b/assets/a b.zip", ())
    ssm = {**auth("ssm"), "X-Amz-Target": "AmazonSSM.GetParameters"}
    assert call("POST", "/", ssm, b'{"Names": ["/a"]}').params == {"Names": ["/a"]}


class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        reply = b"echo:" + body
        self.send_response(200)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


def test_forwards_and_counts():
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    try:
        with AwsProxy(f"http://127.0.0.1:{upstream.server_address[1]}") as proxy:
            conn = http.client.HTTPConnection(proxy.endpoint.removeprefix("http://"))
            for _ in range(2):  # one kept-alive connection
                conn.request(
                    "POST", "/", body=b"Action=DescribeStacks", headers=auth("cloudformation")
                )
                response = conn.getresponse()
                assert (response.status, response.read()) == (200, b"echo:Action=DescribeStacks")
            assert proxy.take() == {"cloudformation:DescribeStacks": 2}
            assert proxy.take() == {}
            assert [c.params["Action"] for c in proxy.calls] == ["DescribeStacks"] * 2
    finally:
        upstream.shutdown()


def test_a_response_has_one_date_and_one_server_header():
    """The upstream's `Date` and `Server` are not sent again next to the proxy's own: the AWS
    SDK for JavaScript reads two `Date` headers as one invalid date and fails every call."""
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    try:
        with AwsProxy(f"http://127.0.0.1:{upstream.server_address[1]}") as proxy:
            conn = http.client.HTTPConnection(proxy.endpoint.removeprefix("http://"))
            for method in ("POST", "HEAD"):
                conn.request(method, "/", body=b"Action=DescribeStacks", headers=auth("s3"))
                response = conn.getresponse()
                response.read()
                assert len(response.msg.get_all("Date")) == 1
                assert len(response.msg.get_all("Server")) == 1
    finally:
        upstream.shutdown()


def test_injected_faults_reach_boto3_as_aws_errors():
    """A throttled or failed call is what botocore sees from AWS: it retries it, then gives up."""
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    try:
        with AwsProxy(f"http://127.0.0.1:{upstream.server_address[1]}") as proxy:
            once = Config(retries={"mode": "standard", "total_max_attempts": 1})
            kwargs = dict(
                endpoint_url=proxy.endpoint,
                region_name="us-east-1",
                config=once,
                aws_access_key_id="k",
                aws_secret_access_key="s",
            )
            proxy.inject("cloudformation:DescribeStacks", "throttle")
            proxy.inject("s3:Head", "fail")
            with pytest.raises(ClientError, match="Throttling"):
                boto3.client("cloudformation", **kwargs).describe_stacks()
            with pytest.raises(ClientError, match="500"):
                boto3.client("s3", **kwargs).head_bucket(Bucket="b")
            assert proxy.injected == {
                "cloudformation:DescribeStacks throttle": 1,
                "s3:Head fail": 1,
            }
    finally:
        upstream.shutdown()
