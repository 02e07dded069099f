"""Walk the Admin API's two pagination styles, and refuse to loop when the cursors stop making progress.

Report endpoints (usage, cost, Claude Code) send `page=<next_page>`; entity lists send
`after_id=<last_id>`. Both stop on `has_more: false` (never on a null cursor). Every other query
parameter stays identical across pages, as the API requires. A walk is bounded in pages, in time
(the client's `limits.pages_deadline_seconds`) and in cursor length, so a server that keeps
answering `has_more` cannot hold a sync forever. Pages are decoded by a caller-supplied
`decode(body) -> page` so the bytes are parsed once, straight into whatever the caller needs; the
pagers only read `has_more` and the cursor from the result. Callers count pages as they iterate.
"""

from __future__ import annotations

import json
import reprlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol, TypeVar

from pipelines.api.client import AdminApiClient, ApiResponse
from pipelines.api.errors import AdminApiError, MalformedResponseError, PaginationError

MAX_LIST_LIMIT = 1000
MAX_CURSOR_LENGTH = 2048  # the API's cursors are a few dozen characters; each is sent back in a URL


class Page(Protocol):
    """What every decoded page exposes to the pagers."""

    @property
    def has_more(self) -> bool: ...


class NextPaged(Page, Protocol):
    """What a report page decoder must return."""

    @property
    def next_page(self) -> str | None: ...


class IdPaged(Page, Protocol):
    """What an entity list page decoder must return."""

    @property
    def last_id(self) -> str | None: ...


PageT = TypeVar("PageT", bound=Page)
NextPagedT = TypeVar("NextPagedT", bound=NextPaged)
IdPagedT = TypeVar("IdPagedT", bound=IdPaged)


@dataclass(frozen=True)
class JsonReportPage:
    """A report page as plain JSON values."""

    data: list[Any]
    has_more: bool
    next_page: str | None


@dataclass(frozen=True)
class JsonListPage:
    """An entity list page as plain JSON values."""

    data: list[Any]
    has_more: bool
    last_id: str | None
    first_id: str | None


def iter_report_pages(
    client: AdminApiClient,
    path: str,
    params: Sequence[tuple[str, str]],
    decode: Callable[[bytes], NextPagedT],
    *,
    beta: Sequence[str] = (),
    max_pages: int = 10_000,
) -> Iterator[NextPagedT]:
    """Yield every decoded page of a report endpoint, sending `page=<next_page>` after the first
    (and the endpoint's `beta` headers on every page)."""
    return _walk_pages(client, path, _own_params(params, "page"), decode, "page", "next_page", max_pages, beta)


def iter_list_pages(
    client: AdminApiClient,
    path: str,
    params: Sequence[tuple[str, str]],
    decode: Callable[[bytes], IdPagedT],
    *,
    limit: int = MAX_LIST_LIMIT,
    max_pages: int = 10_000,
) -> Iterator[IdPagedT]:
    """Yield every decoded page of an entity list, `limit` items a page, sending `after_id=<last_id>`."""
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIST_LIMIT}, got {limit}")
    fixed_params = (*_own_params(params, "after_id", "before_id", "limit"), ("limit", str(limit)))
    return _walk_pages(client, path, fixed_params, decode, "after_id", "last_id", max_pages, ())


def decode_report_envelope(body: bytes) -> JsonReportPage:
    """Default report decoder: `{data: [...], has_more: bool, next_page: str|null}`."""
    envelope = _envelope(body)
    return JsonReportPage(
        data=envelope["data"], has_more=envelope["has_more"], next_page=_optional_string(envelope, "next_page")
    )


def decode_list_envelope(body: bytes) -> JsonListPage:
    """Default entity list decoder: `{data: [...], has_more: bool, first_id, last_id: str|null}`."""
    envelope = _envelope(body)
    return JsonListPage(
        data=envelope["data"],
        has_more=envelope["has_more"],
        last_id=_optional_string(envelope, "last_id"),
        first_id=_optional_string(envelope, "first_id"),
    )


def _own_params(params: Sequence[tuple[str, str]], *owned: str) -> tuple[tuple[str, str], ...]:
    """A private copy of the caller's params (later changes to theirs cannot leak into later pages);
    refuses the parameters the pager sets itself."""
    fixed = tuple((name, value) for name, value in params)
    clashes = sorted({name for name, _ in fixed if name in owned})
    if clashes:
        raise ValueError(f"the pager sets {', '.join(clashes)} itself; remove it from params")
    return fixed


def _walk_pages(
    client: AdminApiClient,
    path: str,
    fixed_params: tuple[tuple[str, str], ...],
    decode: Callable[[bytes], PageT],
    cursor_param: str,
    cursor_field: str,
    max_pages: int,
    beta: Sequence[str],
) -> Iterator[PageT]:
    """The one pagination loop: fetch, decode, check the cursor moves on, yield, repeat."""
    used_cursors: set[str] = set()
    cursor: str | None = None
    pages = 0
    deadline = time.monotonic() + client.limits.pages_deadline_seconds
    while True:
        page_params = fixed_params if cursor is None else (*fixed_params, (cursor_param, cursor))
        response = client.get(path, page_params, beta=beta)
        page, has_more = _decode(decode, response)
        response = replace(response, content=b"")  # parsed: the body goes before the next one comes
        pages += 1
        if has_more:
            cursor = getattr(page, cursor_field)
            if not isinstance(cursor, str) or not cursor:
                reason = f"has_more is true but {cursor_field} is {reprlib.repr(cursor)}"
                raise _error_about(response, PaginationError, reason)
            if len(cursor) > MAX_CURSOR_LENGTH:
                reason = f"{cursor_field} is {len(cursor)} characters long (at most {MAX_CURSOR_LENGTH} expected)"
                raise _error_about(response, PaginationError, reason)
            if cursor in used_cursors:
                reason = f"cursor repeats: {cursor_field} {reprlib.repr(cursor)} was already requested"
                raise _error_about(response, PaginationError, reason)
            used_cursors.add(cursor)
        yield page
        if not has_more:
            return
        if pages >= max_pages:
            reason = f"more than {max_pages} pages; raise max_pages if that is expected"
            raise _error_about(response, PaginationError, reason)
        if time.monotonic() > deadline:
            reason = (f"the pages took more than {client.limits.pages_deadline_seconds:g} s ({pages} pages so far) and "
                      "has_more is still true; raise USAGE_PIPELINE_PAGES_DEADLINE_SECONDS if that is expected")
            raise _error_about(response, PaginationError, reason)


def _decode(decode: Callable[[bytes], PageT], response: ApiResponse) -> tuple[PageT, bool]:
    """The decoded page and its has_more; any failure becomes a MalformedResponseError."""
    try:
        page = decode(response.content)
        has_more = page.has_more
    except Exception as exc:
        reason = f"could not decode the page: {type(exc).__name__}: {exc}"
        raise _error_about(response, MalformedResponseError, reason) from exc
    if not isinstance(has_more, bool):
        raise _error_about(response, MalformedResponseError, f"has_more is {has_more!r}, expected true or false")
    return page, has_more


def _error_about(response: ApiResponse, error_class: type[AdminApiError], reason: str) -> AdminApiError:
    """An error that names the page's endpoint and request-id, so the bad response can be traced."""
    return error_class(reason, status=response.status, request_id=response.request_id, endpoint=response.endpoint)


def _envelope(body: bytes) -> dict[str, Any]:
    """The page's JSON object, checked for the two fields every page has: `data` list, `has_more` bool."""
    document = json.loads(body)
    if not isinstance(document, dict):
        raise ValueError(f"expected a JSON object, got {type(document).__name__}")
    if not isinstance(document.get("data"), list):
        raise ValueError("'data' is missing or not a list")
    if not isinstance(document.get("has_more"), bool):
        raise ValueError("'has_more' is missing or not true/false")
    return document


def _optional_string(envelope: dict[str, Any], name: str) -> str | None:
    value = envelope.get(name)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{name!r} is {type(value).__name__}, expected a string or null")
    return value
