"""The HTTP layer: a real stdlib server on 127.0.0.1 that routes, authenticates, injects faults
and renders JSON or the documented error body.

Request checks, in order: credentials (``x-api-key`` or ``Authorization: Bearer``; a normal
``sk-ant-api...`` key is the wrong kind of key, 403), ``anthropic-version`` (required; 400),
``anthropic-beta`` (every value must be a known beta; 400), then the route (404), then faults,
then the endpoint's own parameter validation. Every response carries ``request-id`` and
``anthropic-organization-id``; request IDs are unique and derived from the seed and a counter, so
the same requests against the same seed give the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

from .prices import load_price_table
from . import analytics, directory, reports
from .faults import EXTRA_FIELD_VALUE, REPEATING_CURSOR, Faults, corrupt, reshape, spend_cap_error, transient_error
from .org import SyntheticOrg
from .params import ApiError, Request, invalid, not_found
from .timeutil import day_start, parse_rfc3339

DEMO_ADMIN_KEY = "sk-ant-admin01-simulator-demo-key-not-a-secret"
ANTHROPIC_VERSIONS = ("2023-01-01", "2023-06-01", "2026-10-21")
KNOWN_BETAS = frozenset({reports.FAST_MODE_BETA, analytics.BETA, "mcp-tunnels-2026-05-19"})
_NORMAL_KEY_PREFIX = "sk-ant-api"
_ID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_LIFECYCLE_TIMEOUT_SECONDS = 5.0

Handler = Callable[[SyntheticOrg, Request], dict[str, Any]]
_ROUTES: tuple[tuple[re.Pattern[str], Handler], ...] = tuple(
    (re.compile(f"^/v1/organizations{pattern}$"), handler)
    for pattern, handler in (
        ("/usage_report/messages", reports.messages_usage),
        ("/cost_report", reports.cost_report),
        ("/usage_report/claude_code", reports.claude_code),
        ("/analytics/usage", analytics.usage),
        ("/analytics/cost", analytics.cost),
        ("/me", directory.me),
        ("/users", directory.list_users),
        ("/users/(?P<user_id>[^/]+)", directory.get_user),
        ("/invites", directory.list_invites),
        ("/invites/(?P<invite_id>[^/]+)", directory.get_invite),
        ("/workspaces", directory.list_workspaces),
        ("/workspaces/(?P<workspace_id>[^/]+)", directory.get_workspace),
        ("/workspaces/(?P<workspace_id>[^/]+)/members", directory.list_members),
        ("/api_keys", directory.list_api_keys),
        ("/api_keys/(?P<api_key_id>[^/]+)", directory.get_api_key),
        ("/service_accounts", directory.service_accounts),
    )
)
_REASONS = {529: "Overloaded"}
# What a Claude Enterprise organization's key (scope read:analytics) may read; the rest is a 403.
_ENTERPRISE_READABLE = (directory.me, analytics.usage, analytics.cost)


class InjectedFault(NamedTuple):
    """One injected fault: its kind, the request's path and the request-id the response carried."""

    kind: str
    path: str
    request_id: str


@dataclass
class RequestStats:
    """Request counters since start.

    ``total`` counts every request; ``by_path`` counts them by URL path (no query string);
    ``by_status`` counts answered requests by HTTP status (a dropped connection has none);
    ``faults_injected`` counts injected faults by kind: the transient kinds ("429", "500", "529",
    "drop", "slow"), "spend_cap", each malformed kind, and "extra_field"; ``fault_log`` lists them
    in order with their path and request-id; ``in_flight`` is the number of requests being answered
    right now (a slow answer counts until it is sent).
    """

    total: int = 0
    by_path: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)
    faults_injected: Counter[str] = field(default_factory=Counter)
    fault_log: list[InjectedFault] = field(default_factory=list)
    in_flight: int = 0


@dataclass(frozen=True)
class _Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


class Simulator:
    """The Admin API simulator: a synthetic organization served over real HTTP.

    ``now`` (an aware datetime) pins the clock; by default it is the real UTC time at each
    request. ``faults`` may be replaced or mutated at any time. ``more_organizations`` maps further
    admin keys to seeds: each key sees its own organization, as with several real organizations.
    ``org_type`` "enterprise" makes the main organization a Claude Enterprise one, whose key reads
    only ``/me`` and the Analytics API (403 elsewhere); ``hipaa_ready`` makes its Analytics API
    answer 400, ``analytics_available=False`` 404; ``refresh_lag_hours`` puts its Analytics API's
    ``data_refreshed_at`` that many hours before now. ``discount_usd(model, day)`` is what its
    negotiated discount took off that model's bill that day.
    """

    def __init__(
        self,
        seed: int = 7,
        port: int = 0,
        admin_key: str = DEMO_ADMIN_KEY,
        now: datetime | None = None,
        usage_rows_per_hour: int = 24,
        faults: Faults | None = None,
        more_organizations: dict[str, int] | None = None,
        org_type: str = "console",
        hipaa_ready: bool = False,
        analytics_available: bool = True,
        refresh_lag_hours: float = 0.0,
    ):
        if now is not None and now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        self.seed = seed
        self.port = port
        self.admin_key = admin_key
        self.faults = faults or Faults()
        self.stats = RequestStats()
        prices, clock = load_price_table(), self._clock(now)
        self.org = SyntheticOrg(seed, prices, clock, usage_rows_per_hour, org_type, hipaa_ready, analytics_available,
                                refresh_lag_hours)
        self.orgs_by_key = {admin_key: self.org} | {
            key: SyntheticOrg(other_seed, prices, clock, usage_rows_per_hour)
            for key, other_seed in (more_organizations or {}).items()
        }
        self._lock = threading.Lock()
        self._requests_seen = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Simulator:
        """Bind 127.0.0.1:port and return once the server accepts connections."""
        if self._server is not None:
            raise RuntimeError("the simulator is already running")
        self._server = _Server(("127.0.0.1", self.port), self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"simulator:{self.port}", daemon=True
        )
        self._thread.start()
        self._wait_until_accepting()
        return self

    def stop(self) -> None:
        """Stop serving and close every open connection."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=_LIFECYCLE_TIMEOUT_SECONDS)
        self._server = self._thread = None

    def serve_forever(self) -> None:
        """Serve until KeyboardInterrupt, then stop (for ``usage-pipeline simulate``); starts if needed."""
        if self._server is None:
            self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(timeout=0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the simulator is not running; call start() first")
        return f"http://127.0.0.1:{self.port}"

    def restate(self, day: date, factor: float = 1.25) -> None:
        """From now on, that UTC day's usage, cost and Claude Code numbers are x factor (floored)."""
        self.org.restate(day, factor)

    def discount_usd(self, model: str, day: date) -> Decimal:
        """The main organization's discount on the model that UTC day: analytics list minus billed, in USD."""
        return self.org.discount_usd(model, day)

    # --- one request -------------------------------------------------------------------------

    def _handle(self, method: str, target: str, headers: Message) -> _Response | None:
        """Answer one request; None means drop the connection without a response."""
        path, _, query_string = target.partition("?")
        with self._lock:
            self._requests_seen += 1
            request_id = self._request_id(self._requests_seen)
            self.stats.total += 1
            self.stats.by_path[path] += 1
            self.stats.in_flight += 1
        try:
            try:
                response = self._answer(method, path, parse_qsl(query_string, keep_blank_values=True), headers, request_id)
            except _DropConnection:
                return None
            except ApiError as error:
                message = error.message
                if self.faults.echo_key and headers.get("x-api-key"):
                    message = f"{message} (x-api-key: {headers['x-api-key']})"
                error_body: dict[str, Any] = {"type": error.error_type, "message": message}
                if error.error_code:
                    error_body["details"] = {"error_code": error.error_code}
                response = _Response(error.status, _json({"type": "error", "error": error_body, "request_id": request_id}),
                                     headers=error.headers)
            org = self.orgs_by_key.get(headers.get("x-api-key", ""), self.org)
            response.headers.update({"request-id": request_id, "anthropic-organization-id": org.organization_id})
            with self._lock:
                self.stats.by_status[response.status] += 1
            return response
        finally:
            with self._lock:
                self.stats.in_flight -= 1

    def _answer(
        self, method: str, path: str, pairs: list[tuple[str, str]], headers: Message, request_id: str = ""
    ) -> _Response:
        org = self._authenticate(headers)
        version = headers.get("anthropic-version")
        if version is None:
            raise invalid("anthropic-version: header is required")
        if version not in ANTHROPIC_VERSIONS:
            raise invalid(f"anthropic-version: {version!r} is not a valid version")
        betas = frozenset(b.strip() for value in headers.get_all("anthropic-beta", []) for b in value.split(",") if b.strip())
        if unknown := sorted(betas - KNOWN_BETAS):
            raise invalid(f"Unexpected value(s) {', '.join(unknown)} for the anthropic-beta header")
        handler, path_args = self._route(method, path)
        if org.org_type == "enterprise" and handler not in _ENTERPRISE_READABLE:
            raise ApiError(403, "permission_error",
                           f"This API key has the read:analytics scope, which does not allow {method} {path}")

        faults = self.faults
        targeted = faults.applies_to(path, self._report_window(path, pairs))
        if targeted:
            self._inject_transient(faults, path, request_id)
        kinds = faults.malformations if targeted else ()
        request_page = dict(pairs).get("page")
        if "repeating_next_page" in kinds and request_page == REPEATING_CURSOR:
            pairs = [(name, value) for name, value in pairs if name != "page"]  # the first page, again
        payload = handler(org, Request(path, pairs, betas, path_args))
        if not targeted:
            return _Response(200, _json(payload))
        echoed_key = headers.get("x-api-key") if faults.echo_key else None
        if kinds or faults.extra_field:
            payload = reshape(payload, kinds, faults.extra_field, request_page, echoed_key or EXTRA_FIELD_VALUE)
            self._count_faults(kinds + (("extra_field",) if faults.extra_field else ()), path, request_id)
        body, content_type = corrupt(_json(payload), kinds, echoed_key)
        return _Response(200, body, content_type)

    def _authenticate(self, headers: Message) -> SyntheticOrg:
        key = headers.get("x-api-key")
        if key is None and headers.get("authorization", "").lower().startswith("bearer "):
            key = headers["authorization"][len("bearer "):].strip()
        if key is None:
            raise ApiError(401, "authentication_error", "x-api-key header is required")
        if key in self.orgs_by_key:
            return self.orgs_by_key[key]
        if key.startswith(_NORMAL_KEY_PREFIX):
            raise ApiError(403, "permission_error", "This endpoint requires an Admin API key (sk-ant-admin...); "
                           "a standard API key cannot be used")
        raise ApiError(401, "authentication_error", "invalid x-api-key")

    @staticmethod
    def _route(method: str, path: str) -> tuple[Handler, dict[str, str]]:
        if method == "GET":
            for pattern, handler in _ROUTES:
                if match := pattern.match(path):
                    return handler, match.groupdict()
        raise not_found(f"{method} {path}: not found")

    def _inject_transient(self, faults: Faults, path: str, request_id: str) -> None:
        if faults.spend_cap:
            self._count_faults(("spend_cap",), path, request_id)
            raise spend_cap_error()
        with self._lock:
            kind = faults.draw_transient()
        if kind is None:
            return
        self._count_faults((kind,), path, request_id)
        if kind == "drop":
            raise _DropConnection
        if kind == "slow":
            time.sleep(faults.slow_seconds)
        else:
            raise transient_error(kind, faults.retry_after)

    def _report_window(self, path: str, pairs: list[tuple[str, str]]) -> tuple[datetime, datetime] | None:
        """The [starting_at, ending_at) a report request covers, for ``Faults.match_day``."""
        params = dict(pairs)
        if path.endswith("/usage_report/claude_code"):
            try:
                day = day_start(date.fromisoformat(params.get("starting_at", "")))
            except ValueError:
                return None
            return day, day + timedelta(days=1)
        if path.endswith(("/usage_report/messages", "/cost_report", "/analytics/usage", "/analytics/cost")):
            start = parse_rfc3339(params.get("starting_at", ""))
            end = parse_rfc3339(params["ending_at"]) if "ending_at" in params else self.org.clock()
            return (start, end) if start and end else None
        return None

    def _count_faults(self, kinds: tuple[str, ...], path: str, request_id: str) -> None:
        with self._lock:
            self.stats.faults_injected.update(kinds)
            self.stats.fault_log.extend(InjectedFault(kind, path, request_id) for kind in kinds)

    def _request_id(self, number: int) -> str:
        digest = int.from_bytes(hashlib.sha256(f"{self.seed}:request:{number}".encode()).digest(), "big")
        chars = []
        for _ in range(22):
            digest, index = divmod(digest, len(_ID_ALPHABET))
            chars.append(_ID_ALPHABET[index])
        return "req_01" + "".join(chars)

    def _wait_until_accepting(self) -> None:
        deadline = time.monotonic() + _LIFECYCLE_TIMEOUT_SECONDS
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"the simulator did not start accepting on port {self.port}") from None
                time.sleep(0.01)

    @staticmethod
    def _clock(now: datetime | None) -> Callable[[], datetime]:
        if now is None:
            return lambda: datetime.now(UTC)
        fixed = now.astimezone(UTC)
        return lambda: fixed


class _DropConnection(Exception):
    """Raised by the "drop" fault: close the connection without answering."""


def _json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


class _Server(ThreadingHTTPServer):
    """A threading HTTP server that can close the keep-alive connections it holds on stop."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], simulator: Simulator):
        super().__init__(address, _RequestHandler)
        self.simulator = simulator
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def process_request(self, request, client_address) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address) -> None:
        """A client that went away (timed out, or was killed) mid-answer is not a server error."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        response = self.server.simulator._handle(self.command, self.path, self.headers)
        if response is None:
            self.close_connection = True
            return
        self.send_response(response.status, _REASONS.get(response.status))
        self.send_header("content-type", response.content_type)
        self.send_header("content-length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests and the demo would otherwise log every request to stderr."""
