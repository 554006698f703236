"""An HTTP proxy in front of the local AWS that counts the API calls going through it.

Both tools under comparison are pointed at it (AWS_ENDPOINT_URL), so their calls are counted
the same way: by service and operation, read from the request as AWS reads it (the signing
scope, then `X-Amz-Target`, the query protocol's `Action`, or the REST method for S3).

The local AWS answers in milliseconds and finishes every stack operation at once; AWS takes
longer for each call. `latency_s` delays every call by a fixed time, to measure what depends on
waiting for AWS (deploying in parallel) with some of that waiting in it.
"""

from __future__ import annotations

import collections
import http.client
import re
import socket
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_SCOPE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/")
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade"}
READ_PREFIXES = ("Describe", "List", "Get", "Head")


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


def is_read(op: str) -> bool:
    name = op.split(":", 1)[1]
    return name.startswith(READ_PREFIXES)


class CountingProxy:
    """Forwards every request to `upstream` (http://host:port) and counts it."""

    def __init__(self, upstream: str):
        self.latency_s = 0.0
        parsed = urllib.parse.urlparse(upstream)
        self._upstream = (parsed.hostname, parsed.port)
        self._lock = threading.Lock()
        self.counts: collections.Counter[str] = collections.Counter()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "CountingProxy":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def take(self) -> collections.Counter[str]:
        """The counts since the last take, reset to zero."""
        with self._lock:
            counts, self.counts = self.counts, collections.Counter()
        return counts

    def _count(self, op: str) -> None:
        with self._lock:
            self.counts[op] += 1

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

            def _forward(self) -> None:
                body = self._body()
                proxy._count(operation(self.command, self.headers, body))
                if proxy.latency_s:
                    time.sleep(proxy.latency_s)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                headers["Content-Length"] = str(len(body))
                if not hasattr(local, "conn"):
                    local.conn = http.client.HTTPConnection(*proxy._upstream, timeout=300)
                try:
                    local.conn.request(self.command, self.path, body=body, headers=headers)
                    response = local.conn.getresponse()
                except (OSError, http.client.HTTPException):
                    local.conn.close()  # a stale keep-alive connection: retry on a new one
                    local.conn = http.client.HTTPConnection(*proxy._upstream, timeout=300)
                    local.conn.request(self.command, self.path, body=body, headers=headers)
                    response = local.conn.getresponse()
                data = response.read()
                self.send_response(response.status, response.reason)
                for key, value in response.getheaders():
                    if key.lower() not in _HOP_BY_HOP and key.lower() != "content-length":
                        self.send_header(key, value)
                length = response.getheader("Content-Length") if self.command == "HEAD" else None
                self.send_header("Content-Length", length or str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _forward

        return Handler
