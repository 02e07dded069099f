"""The Admin API HTTP client: authentication headers, timeouts, the retry policy, the request budget,
typed errors and counters, around one httpx.Client.

The key is sent in the x-api-key header and nowhere else: it is not in URLs, log lines, reprs or
exception messages. Every response body, error or not, is scrubbed of it before anything else sees
it, in case a server or a proxy echoes it back: otherwise an echo would reach an error message (a
malformed page quotes its first bytes), a schema-drift `extras` column and so the warehouse.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType

import httpx

from pipelines import __version__
from pipelines.api.budget import RequestBudget
from pipelines.api.errors import ApiConnectionError, MalformedResponseError, error_from_response, summarize_body
from pipelines.api.retry import Outcome, RetryPolicy

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
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        api_key = api_key.strip()
        check_api_key(api_key)
        _check_base_url(base_url)
        if isinstance(beta, str):
            raise TypeError("beta must be a sequence of beta names, e.g. ('fast-mode-2026-02-01',)")
        self.base_url = base_url
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
            timeout=httpx.Timeout(timeout_seconds, connect=CONNECT_TIMEOUT_SECONDS),
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
            raise ApiConnectionError(f"no response from the API: {type(exc).__name__}: {exc}", endpoint=path) from exc
        except httpx.DecodingError as exc:
            raise MalformedResponseError(f"could not decode the response body: {exc}", endpoint=path) from exc
        content = self._scrubbed(response.content)
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
        """One attempt: wait for the budget, send, count."""
        if self._budget is not None:
            self.stats.seconds_waiting_for_budget += self._budget.acquire()
        self.stats.requests += 1
        response = self._http.get(path, params=query, headers=headers)
        self.stats.bytes_received += len(response.content)
        logger.debug(
            "GET %s -> HTTP %d, %d bytes in %.2f s (request-id %s)",
            path,
            response.status_code,
            len(response.content),
            response.elapsed.total_seconds(),
            response.headers.get("request-id"),
        )
        # httpx binds the response's stream to the response itself, a reference cycle that only Python's
        # cyclic garbage collector breaks, seconds later, so page bodies pile up and peak RSS grows with the
        # range (README, Performance, "Why these settings"). The body is read and the
        # stream closed by now, so a plain stream over the same bytes breaks the cycle: the body is freed
        # as soon as its page is parsed.
        response.stream = httpx.ByteStream(response.content)
        return response

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


def _check_base_url(base_url: str) -> None:
    url = httpx.URL(base_url)
    if url.scheme not in ("http", "https") or not url.host or url.userinfo:
        raise ValueError("base_url must be an http(s) URL with a host and without credentials")


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")

