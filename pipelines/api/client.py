"""The Admin API HTTP client: authentication headers, timeouts, the retry policy, the request budget,
typed errors and counters, around one httpx.Client.

The key is sent in the x-api-key header and nowhere else: it is not in URLs, log lines, reprs or
exception messages. Every response body, error or not, is scrubbed of it before anything else sees
it, in case a server or a proxy echoes it back: otherwise an echo would reach an error message (a
malformed page quotes its first bytes), a schema-drift `extras` column and so the warehouse.

It only travels encrypted: plain http is refused except to a loopback host (the simulator, a local
proxy) or when the operator opts in, and redirects are never followed. No server decides how long a
request takes or how big its body gets (`RequestLimits`).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType

import httpx

from pipelines import __version__
from pipelines.api.budget import RequestBudget
from pipelines.api.errors import (
    ApiConnectionError,
    MalformedResponseError,
    RedirectError,
    RequestDeadlineError,
    ResponseTooLargeError,
    error_from_response,
    summarize_body,
)
from pipelines.api.retry import Outcome, RetryPolicy, tls_failure
from pipelines.transport import plain_http_refusal

DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
USER_AGENT = f"anthropic-usage-pipeline/{__version__} (+https://github.com/anthropic-usage-pipeline)"
CONNECT_TIMEOUT_SECONDS = 10.0

logger = logging.getLogger("pipelines.api")


@dataclass(frozen=True)
class ApiResponse:
    """A 2xx JSON response, kept as bytes so the caller parses it once, straight into its own shape."""

    status: int
    content: bytes = field(repr=False)
    request_id: str | None
    endpoint: str


@dataclass(frozen=True)
class RequestLimits:
    """How long and how big requests may be, so the key's holder, not a slow or hostile server,
    decides how long a sync holds the writer lock and how much memory it takes."""

    deadline_seconds: float = 300.0  # one request: connect, headers and the whole body (a trickle is cut)
    max_response_bytes: int = 64 * 2**20  # one body, once decoded (a gzip bomb is cut too)
    pages_deadline_seconds: float = 1800.0  # all pages of one request window or entity list

    def __post_init__(self) -> None:
        if not (self.deadline_seconds > 0 and self.pages_deadline_seconds > 0 and self.max_response_bytes > 0):
            raise ValueError("request limits must be positive")


@dataclass
class ClientStats:
    """What one client has done so far; read differences before and after a job to report on it."""

    requests: int = 0  # HTTP attempts sent, retries included
    retries: int = 0
    retried_statuses: Counter[int | str] = field(default_factory=Counter)  # HTTP status, or transport error name
    bytes_received: int = 0
    seconds_waiting_for_budget: float = 0.0
    seconds_backing_off: float = 0.0


class AdminApiClient:
    """GETs against the Admin API of one organization (one key). Meant for one thread at a time;
    share a RequestBudget, not a client, between threads."""

    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        beta: Sequence[str] = (),
        timeout_seconds: float = 60.0,
        retry: RetryPolicy = RetryPolicy(),
        budget: RequestBudget | None = None,
        limits: RequestLimits = RequestLimits(),
        allow_insecure_http: bool = False,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        api_key = api_key.strip()
        check_api_key(api_key)
        check_base_url(base_url, allow_insecure_http=allow_insecure_http)
        if isinstance(beta, str):
            raise TypeError("beta must be a sequence of beta names, e.g. ('fast-mode-2026-02-01',)")
        self.base_url = base_url
        self.limits = limits
        self.stats = ClientStats()
        self._api_key = api_key
        self._retry = retry
        self._budget = budget
        self._beta = tuple(beta)
        headers = {
            "x-api-key": api_key,
            "anthropic-version": API_VERSION,
            "user-agent": USER_AGENT,
            "accept": "application/json",
        }
        self._http = httpx.Client(
            base_url=base_url,
            headers=headers,
            # No wait, not even connecting, outlasts the deadline of its request.
            timeout=httpx.Timeout(min(timeout_seconds, limits.deadline_seconds),
                                  connect=min(CONNECT_TIMEOUT_SECONDS, limits.deadline_seconds)),
            follow_redirects=False,  # the key would go along to wherever the redirect points
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"AdminApiClient(base_url={self.base_url!r}, api_key='<redacted>')"

    def __enter__(self) -> AdminApiClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def get(self, path: str, params: Sequence[tuple[str, str]] = (), *, beta: Sequence[str] = ()) -> ApiResponse:
        """GET `path` (e.g. "/v1/organizations/me") under the retry policy.

        `params` is a list of pairs so bracketed arrays repeat: [("group_by[]", "model"), ...].
        `beta` adds beta names to the client's own for this request (an endpoint that needs one).
        Returns only 2xx JSON responses; everything else raises an AdminApiError subclass.
        """
        if not path.startswith("/") or path.startswith("//"):
            raise ValueError(f"path must be an absolute path on the API host, got {path!r}")
        query = list(params)
        betas = tuple(dict.fromkeys((*self._beta, *beta)))
        headers = {"anthropic-beta": ",".join(betas)} if betas else {}
        try:
            response = self._retry.run(
                send=lambda: self._send(path, query, headers),
                on_retry=lambda outcome, attempt, wait: self._note_retry(path, outcome, attempt, wait),
            )
        except httpx.TransportError as exc:
            if (failure := tls_failure(exc)) is not None:
                problem = getattr(failure, "verify_message", None) or failure.reason or failure
                raise ApiConnectionError(
                    f"TLS with {self._http.base_url.host} failed, not retried: {problem}; check ANTHROPIC_BASE_URL "
                    "(a proxy that inspects TLS needs its CA certificate in SSL_CERT_FILE)", endpoint=path) from exc
            raise ApiConnectionError(f"no response from the API: {type(exc).__name__}: {exc}", endpoint=path) from exc
        except httpx.DecodingError as exc:
            raise MalformedResponseError(f"could not decode the response body: {exc}", endpoint=path) from exc
        content = self._scrubbed(response.content)
        if response.is_redirect:
            raise RedirectError(
                f"the API answered with a redirect to {_shown_url(response.headers.get('location', ''))}, which is "
                "not followed (the admin key would go along): set ANTHROPIC_BASE_URL to the address the API serves",
                status=response.status_code, request_id=response.headers.get("request-id"), endpoint=path)
        if not response.is_success:
            raise error_from_response(response.status_code, response.headers, content, path)
        request_id = response.headers.get("request-id")
        content_type = response.headers.get("content-type", "")
        if not _is_json(content_type):
            raise MalformedResponseError(
                f"expected a JSON body, got content-type {content_type!r}: {summarize_body(content)}",
                status=response.status_code,
                request_id=request_id,
                endpoint=path,
            )
        return ApiResponse(response.status_code, content, request_id, path)

    def _send(self, path: str, query: list[tuple[str, str]], headers: dict[str, str]) -> httpx.Response:
        """One attempt: wait for the budget, send, read the body within the deadline and the size cap, count."""
        if self._budget is not None:
            self.stats.seconds_waiting_for_budget += self._budget.acquire()
        self.stats.requests += 1
        started = time.monotonic()
        try:
            with self._http.stream("GET", path, params=query, headers=headers) as streamed:
                body = self._body(streamed, path, started + self.limits.deadline_seconds)
        except httpx.TimeoutException as exc:  # a wait the deadline cut short is the deadline, not a retry
            if time.monotonic() - started >= self.limits.deadline_seconds:
                raise self._past_deadline(path) from exc
            raise
        self.stats.bytes_received += len(body)
        logger.debug(
            "GET %s -> HTTP %d, %d bytes in %.2f s (request-id %s)",
            path,
            streamed.status_code,
            len(body),
            time.monotonic() - started,
            streamed.headers.get("request-id"),
        )
        # A plain response over the body read: it holds no stream bound back to itself (a reference cycle
        # that only Python's cyclic collector breaks, seconds later, so page bodies would pile up: README,
        # Performance, "Why these settings"), and the body is freed as soon as its page is parsed. The
        # body is already decoded, so its content-encoding goes.
        received = httpx.Headers([(name, value) for name, value in streamed.headers.multi_items()
                                  if name.lower() != "content-encoding"])
        return httpx.Response(streamed.status_code, headers=received, content=body, request=streamed.request)

    def _body(self, streamed: httpx.Response, path: str, deadline: float) -> bytes:
        """The decoded body, read as it arrives; stops at the size cap and at the deadline."""
        cap = self.limits.max_response_bytes
        declared = streamed.headers.get("content-length", "")
        chunks, size = [], 0
        if declared.isdigit() and int(declared) > cap:
            raise self._too_large(streamed, path, f"it declares {int(declared)} bytes")
        for chunk in streamed.iter_bytes():
            size += len(chunk)
            if size > cap:
                raise self._too_large(streamed, path, "reading stopped there")
            if time.monotonic() > deadline:
                raise self._past_deadline(path)
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self, streamed: httpx.Response, path: str, detail: str) -> ResponseTooLargeError:
        return ResponseTooLargeError(
            f"the response is larger than {self.limits.max_response_bytes / 2**20:g} MiB ({detail}): raise "
            "USAGE_PIPELINE_MAX_RESPONSE_MB if the API really sends pages this big",
            status=streamed.status_code, request_id=streamed.headers.get("request-id"), endpoint=path)

    def _past_deadline(self, path: str) -> RequestDeadlineError:
        return RequestDeadlineError(
            f"the API took longer than {self.limits.deadline_seconds:g} s to answer (connect and whole body), so "
            "the request was cut off and not retried; raise USAGE_PIPELINE_REQUEST_DEADLINE_SECONDS if it is "
            "just slow", endpoint=path)

    def _note_retry(self, path: str, outcome: Outcome, attempt: int, wait: float) -> None:
        if isinstance(outcome, httpx.Response):
            reason: int | str = outcome.status_code
            what = f"HTTP {outcome.status_code} (request-id {outcome.headers.get('request-id')})"
        else:
            reason = type(outcome).__name__
            what = f"{reason}: {outcome}"
        self.stats.retries += 1
        self.stats.retried_statuses[reason] += 1
        self.stats.seconds_backing_off += wait
        logger.warning(
            "GET %s: %s; retrying in %.1f s (attempt %d of %d)", path, what, wait, attempt + 1, self._retry.max_attempts
        )

    def _scrubbed(self, body: bytes) -> bytes:
        """The body with the key removed, before any of it is parsed, stored or quoted.

        (`bytes.replace` returns the same object when the key does not occur: no copy.)
        """
        return body.replace(self._api_key.encode(), b"<redacted>")


def check_api_key(api_key: str) -> None:
    """Reject keys httpx cannot send as a header, before httpx raises an error that quotes the key.

    Raises ValueError with a message that never contains the key.
    """
    if not api_key:
        raise ValueError("the admin API key is empty: set ANTHROPIC_ADMIN_KEY")
    if not (api_key.isascii() and api_key.isprintable()) or " " in api_key:
        raise ValueError(
            "the admin API key contains spaces or non-ASCII characters (key not shown): check ANTHROPIC_ADMIN_KEY"
        )


def check_base_url(base_url: str, *, allow_insecure_http: bool = False) -> None:
    """Refuse a base URL the key must not be sent to, before anything is sent; the messages never
    show the URL (it may hold a password), at most its host.

    https, or plain http to a loopback host; plain http elsewhere only with `allow_insecure_http`.
    """
    try:
        url = httpx.URL(base_url)
    except httpx.InvalidURL:
        raise ValueError("ANTHROPIC_BASE_URL is not a valid URL (not shown)") from None
    if url.userinfo:
        raise ValueError("ANTHROPIC_BASE_URL must not contain credentials (user:password@, not shown): "
                         "the admin key authenticates")
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError("ANTHROPIC_BASE_URL must be an https:// URL with a host")
    if refusal := plain_http_refusal(url, "the admin key", allow_insecure_http=allow_insecure_http):
        raise ValueError(f"ANTHROPIC_BASE_URL {refusal}")


def _shown_url(location: str) -> str:
    """A redirect target fit for a message: without credentials, capped, one printable line."""
    try:
        url = httpx.URL(location).copy_with(username=None, password=None)
        shown = str(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        shown = location
    shown = shown[:200] + ("..." if len(shown) > 200 else "")
    return repr(shown)


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")

