"""A real HTTP server on 127.0.0.1 that answers from a script, so client tests exercise real sockets.

Queue replies with `server.reply(...)`; each incoming request takes the next one, in order, and is
recorded (path, query pairs, lower-cased headers). When the script runs out the server answers 599,
which no client retries, so a missing reply fails the test loudly instead of hanging it.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

READY_PATH = "/__ready__"


@dataclass(frozen=True)
class Reply:
    """One canned answer. `body` may be bytes, str, or anything JSON-serialisable (sent as JSON)."""

    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without answering
    delay_seconds: float = 0.0  # wait before answering (to trigger client timeouts)
    trickle_seconds: float = 0.0  # send the body one byte at a time, this far apart (never a read timeout)

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        headers = {k.lower(): v for k, v in self.headers.items()}
        if isinstance(self.body, bytes):
            body = self.body
        elif isinstance(self.body, str):
            body = self.body.encode()
            headers.setdefault("content-type", "text/plain; charset=utf-8")
        else:
            body = json.dumps(self.body).encode()
            headers.setdefault("content-type", "application/json")
        return body, headers


def json_reply(body: Any, status: int = 200, **headers: str) -> Reply:
    return Reply(status=status, body=body, headers={k.replace("_", "-"): v for k, v in headers.items()})


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]

    def param(self, name: str) -> str | None:
        values = [value for key, value in self.query if key == name]
        assert len(values) <= 1, f"{name} sent {len(values)} times"
        return values[0] if values else None


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that gave up first is expected
            super().handle_error(request, client_address)


class ScriptedServer:
    """Context manager: starts on a free port, waits until it answers, stops and joins on exit."""

    def __init__(self) -> None:
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self.requests: list[RecordedRequest] = []
        self._httpd = _HTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, name="scripted-server", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def reply(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

    def reset(self) -> None:
        """Forget the script and the recorded requests (for reusing one server across examples)."""
        with self._lock:
            self._replies.clear()
            self.requests.clear()

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        self._wait_until_ready(timeout_seconds=5.0)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5.0)

    def _wait_until_ready(self, timeout_seconds: float) -> None:
        deadline = time.monotonic() + timeout_seconds
        while True:
            try:
                with urllib.request.urlopen(self.url + READY_PATH, timeout=0.5) as response:
                    if response.status == 204:
                        return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"scripted server at {self.url} did not become ready") from None
                time.sleep(0.01)

    def _next(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            if self._replies:
                return self._replies.popleft()
        return Reply(599, {"error": {"type": "test_error", "message": "the scripted server ran out of replies"}})

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, like the real API
            disable_nagle_algorithm = True  # headers and body go out in two writes; don't add 40 ms to each

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                url = urlsplit(self.path)
                if url.path == READY_PATH:
                    self.send_response(204)
                    self.end_headers()
                    return
                recorded = RecordedRequest(
                    path=url.path,
                    query=parse_qsl(url.query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in self.headers.items()},
                )
                reply = server._next(recorded)
                time.sleep(reply.delay_seconds)
                if reply.drop:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                body, headers = reply.encoded()
                self.send_response(reply.status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                if reply.trickle_seconds:
                    for index in range(len(body)):
                        self.wfile.write(body[index:index + 1])
                        self.wfile.flush()
                        time.sleep(reply.trickle_seconds)
                else:
                    self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # quiet test output
                pass

        return Handler
