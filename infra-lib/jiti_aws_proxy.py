"""An HTTP proxy in front of the local AWS: it counts the API calls going through it, and can
fail, throttle or delay chosen ones.

Tools under test (jiti, the AWS CLI) are pointed at it with `AWS_ENDPOINT_URL`, so their calls
are seen as AWS would see them: by service and operation, read from the request (the signing
scope, then `X-Amz-Target`, the query protocol's `Action`, or the REST method for S3).

The benchmarks use it to count calls and to add AWS-like latency; the tests use it to inject
faults for real (a throttled `CreateChangeSet`, a 500 on `DescribeStacks`, a slow upload) into
real deploys, and to check that a run still ends as it should. It also records each call with
what it acts on (`calls`), so a test can check the IAM actions a command needs.
"""

from __future__ import annotations

import collections
import http.client
import json
import re
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_SCOPE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/")
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade"}
# Headers the proxy writes itself (`send_response`): the upstream's would be sent twice, and a
# client may read two `Date` headers as one invalid date (the AWS SDK for JavaScript does).
_OWN = {"date", "server", "content-length"}
READ_PREFIXES = ("Describe", "List", "Get", "Head")

# What AWS answers when it throttles or fails a call: S3's REST errors, and the query
# protocol's (CloudFormation, STS).
_FAULTS = {
    ("s3", "throttle"): (
        503,
        "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message>"
        "<RequestId>jiti-fault</RequestId></Error>",
    ),
    ("s3", "fail"): (
        500,
        "<Error><Code>InternalError</Code><Message>injected failure</Message>"
        "<RequestId>jiti-fault</RequestId></Error>",
    ),
    ("query", "throttle"): (
        400,
        "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
        "<Message>Rate exceeded</Message></Error><RequestId>jiti-fault</RequestId></ErrorResponse>",
    ),
    ("query", "fail"): (
        500,
        "<ErrorResponse><Error><Type>Receiver</Type><Code>InternalFailure</Code>"
        "<Message>injected failure</Message></Error><RequestId>jiti-fault</RequestId></ErrorResponse>",
    ),
}


def operation(method: str, headers, body: bytes) -> str:
    """`service:Operation` of one request."""
    scope = _SCOPE.search(headers.get("Authorization", ""))
    service = scope.group(1) if scope else "?"
    target = headers.get("X-Amz-Target")
    if target:
        return f"{service}:{target.rsplit('.', 1)[-1]}"
    if service == "s3":
        return f"s3:{method.title()}"
    action = urllib.parse.parse_qs(body.decode(errors="replace")).get("Action")
    return f"{service}:{action[0] if action else method}"


@dataclass
class Call:
    """One request as IAM sees it: the operation, the S3 path and subresources (`?policy`),
    the request's parameters (query and JSON protocols; of S3 bodies, only a POST's, such as
    DeleteObjects' list), and the answer's status."""

    operation: str
    method: str
    path: str
    query: tuple[str, ...]
    params: dict
    status: int = 0


def call(method: str, target: str, headers, body: bytes) -> Call:
    """The `Call` of one request to `target` (the path and query string)."""
    op = operation(method, headers, body)
    parsed = urllib.parse.urlsplit(target)
    query = tuple(sorted(urllib.parse.parse_qs(parsed.query, keep_blank_values=True)))
    params: dict = {}
    if headers.get("X-Amz-Target"):
        params = json.loads(body or b"{}")
    elif not op.startswith("s3:"):
        params = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode(errors="replace")).items()}
    elif method == "POST":
        params = {"body": body.decode(errors="replace")}
    return Call(op, method, urllib.parse.unquote(parsed.path), query, params)


def is_read(op: str) -> bool:
    name = op.split(":", 1)[1]
    return name.startswith(READ_PREFIXES)


@dataclass
class Fault:
    """What to do to the next `times` calls of `operation` (`service:Operation`)."""

    operation: str
    kind: str  # "throttle" (400 Throttling), "fail" (500), or "delay"
    times: int = 1
    delay_s: float = 0.0

    def response(self) -> tuple[int, str] | None:
        """The error to answer with, or None for a delay only."""
        protocol = "s3" if self.operation.startswith("s3:") else "query"
        return _FAULTS.get((protocol, self.kind))


class AwsProxy:
    """Forwards every request to `upstream` (http://host:port), counts it, and applies faults."""

    def __init__(self, upstream: str):
        self.latency_s = 0.0  # added to every call
        parsed = urllib.parse.urlparse(upstream)
        self._upstream = (parsed.hostname, parsed.port)
        self._lock = threading.Lock()
        self.counts: collections.Counter[str] = collections.Counter()
        self.calls: list[Call] = []  # every call, in order
        self.faults: list[Fault] = []
        self.injected: collections.Counter[str] = collections.Counter()  # faults applied
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "AwsProxy":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def inject(self, operation: str, kind: str, *, times: int = 1, delay_s: float = 0.0) -> None:
        with self._lock:
            self.faults.append(Fault(operation, kind, times, delay_s))

    def take(self) -> collections.Counter[str]:
        """The counts since the last take, reset to zero."""
        with self._lock:
            counts, self.counts = self.counts, collections.Counter()
        return counts

    def _on_call(self, seen: Call) -> Fault | None:
        """Count and record the call; the fault it gets, if any is left for it."""
        op = seen.operation
        with self._lock:
            self.counts[op] += 1
            self.calls.append(seen)
            for fault in self.faults:
                if fault.operation == op and fault.times > 0:
                    fault.times -= 1
                    self.injected[f"{op} {fault.kind}"] += 1
                    return fault
        return None

    def _handler(self):
        proxy = self
        local = threading.local()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Headers and body leave in separate writes: without this, Nagle's algorithm
                # and the client's delayed ACK add ~40 ms to every call.
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, *args) -> None:
                pass

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0], 16)
                        chunk = self.rfile.read(size + 2)[:-2]
                        if not size:
                            return b"".join(chunks)
                        chunks.append(chunk)
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _reply(self, status: int, reason: str, headers, data: bytes) -> None:
                self.send_response(status, reason)
                for key, value in headers:
                    if key.lower() not in _HOP_BY_HOP | _OWN:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def _upstream(self, body: bytes):
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                headers["Content-Length"] = str(len(body))
                if not hasattr(local, "conn"):
                    local.conn = http.client.HTTPConnection(*proxy._upstream, timeout=300)
                try:
                    local.conn.request(self.command, self.path, body=body, headers=headers)
                    return local.conn.getresponse()
                except (OSError, http.client.HTTPException):
                    local.conn.close()  # a stale keep-alive connection: retry on a new one
                    local.conn = http.client.HTTPConnection(*proxy._upstream, timeout=300)
                    local.conn.request(self.command, self.path, body=body, headers=headers)
                    return local.conn.getresponse()

            def _forward(self) -> None:
                body = self._body()
                seen = call(self.command, self.path, self.headers, body)
                fault = proxy._on_call(seen)
                delay = proxy.latency_s + (fault.delay_s if fault else 0.0)
                if delay:
                    time.sleep(delay)
                injected = fault.response() if fault else None
                if injected:
                    status, text = injected
                    seen.status = status
                    self._reply(status, "Fault", [("Content-Type", "text/xml")], text.encode())
                    return
                response = self._upstream(body)
                seen.status = response.status
                data = response.read()
                if self.command == "HEAD":  # no body, but the length of the one a GET returns
                    length = response.getheader("Content-Length") or "0"
                    self.send_response(response.status, response.reason)
                    for key, value in response.getheaders():
                        if key.lower() not in _HOP_BY_HOP | _OWN:
                            self.send_header(key, value)
                    self.send_header("Content-Length", length)
                    self.end_headers()
                    return
                self._reply(response.status, response.reason, response.getheaders(), data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _forward

        return Handler
