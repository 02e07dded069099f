"""Fault-injection knobs, and what each fault does to a response.

Transient faults (a 429 with ``retry-after``, a 500, a 529, a dropped connection, a slow answer)
are drawn per matching request from ``random.Random(seed)``, so a run is reproducible. They are
decided before the endpoint runs and cursors are stateless, so a retry gets the right page.

Malformations change a matching 200 response:

- ``truncated_json``: the body cut in half; ``html_200``: an HTML maintenance page with status 200;
- ``string_number``: every integer in the result rows sent as a string;
- ``missing_field``: each result row loses its first field (e.g. ``uncached_input_tokens``,
  ``amount``, ``date``, ``id``);
- ``negative_tokens``: every integer in the result rows negated;
- ``unknown_enum``: every non-null enum field gets a new value (``service_tier: "turbo"``,
  ``cost_type: "carbon_offset"``, ``customer_type: "reseller"``, ``role``/``status``/``workspace_role``
  likewise);
- ``has_more_without_next_page``: ``has_more: true`` with ``next_page: null`` (lists: ``last_id: null``);
- ``repeating_next_page``: a report's ``next_page`` is the cursor the request came with, so a
  client that follows it loops on the same page (the first page still links to the second). A
  report that fits on one page gets ``has_more: true`` and ``next_page: REPEATING_CURSOR``; a request
  with that cursor is served the first page again, pointing at the same cursor, forever.

``echo_key`` models a careless server or proxy that echoes the caller's ``x-api-key``: error
messages quote it, the HTML maintenance page shows it, and ``extra_field`` carries it as its value.
A client must never let it reach a log line, an exception or the warehouse.

Result rows are the ``results`` of report buckets, the ``data`` items of Claude Code and of
lists, or the object itself for single-object endpoints.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from .params import ApiError
from .timeutil import day_start

TRANSIENT_KINDS = ("429", "500", "529", "drop", "slow")
MALFORMED_KINDS = (
    "truncated_json",
    "html_200",
    "string_number",
    "missing_field",
    "negative_tokens",
    "unknown_enum",
    "has_more_without_next_page",
    "repeating_next_page",
)
EXTRA_FIELD_VALUE = "surprise"
REPEATING_CURSOR = "page_repeats_forever"
_UNKNOWN_ENUM_VALUES = {
    "service_tier": "turbo",
    "cost_type": "carbon_offset",
    "customer_type": "reseller",
    "role": "astronaut",
    "status": "dormant",
    "workspace_role": "workspace_overlord",
}
_MAINTENANCE_PAGE = (
    b"<!DOCTYPE html><html><head><title>Scheduled maintenance</title></head>"
    b"<body><h1>We'll be right back</h1></body></html>"
)


@dataclass
class Faults:
    """What to break, and where. All off by default; a change applies from the next request."""

    seed: int = 0
    rate: float = 0.0
    kinds: tuple[str, ...] = TRANSIENT_KINDS
    retry_after: int = 1
    slow_seconds: float = 2.0
    spend_cap: bool = False
    malformed: str | None = None
    match_path: str | None = None
    match_day: date | None = None
    extra_field: str | None = None
    unknown_enum: bool = False
    echo_key: bool = False
    _rng: random.Random = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        if unknown := set(self.kinds) - set(TRANSIENT_KINDS):
            raise ValueError(f"unknown transient fault kinds {sorted(unknown)}; expected {TRANSIENT_KINDS}")
        if self.malformed is not None and self.malformed not in MALFORMED_KINDS:
            raise ValueError(f"unknown malformed kind {self.malformed!r}; expected one of {MALFORMED_KINDS}")
        self._rng = random.Random(self.seed)

    def applies_to(self, path: str, window: tuple[datetime, datetime] | None) -> bool:
        """Whether a request (its path, and a report's [starting_at, ending_at)) is targeted."""
        if self.match_path is not None and self.match_path not in path:
            return False
        if self.match_day is not None:
            day_begins = day_start(self.match_day)
            return window is not None and window[0] < day_begins + timedelta(days=1) and window[1] > day_begins
        return True

    def draw_transient(self) -> str | None:
        """The transient fault for this request, if any (not thread-safe: callers serialise)."""
        if self.rate and self._rng.random() < self.rate:
            return self._rng.choice(self.kinds)
        return None

    @property
    def malformations(self) -> tuple[str, ...]:
        kinds = (self.malformed,) if self.malformed else ()
        return kinds + ("unknown_enum",) if self.unknown_enum and "unknown_enum" not in kinds else kinds


def spend_cap_error() -> ApiError:
    """The monthly spend-cap 429: no retry-after, because retrying will not help."""
    return ApiError(429, "rate_limit_error", "You have reached your specified API usage limits. "
                    "You will regain access at the start of next month (00:00 UTC on the 1st).")


def transient_error(kind: str, retry_after: int) -> ApiError:
    if kind == "429":
        return ApiError(429, "rate_limit_error", "Rate limit exceeded; retry after the retry-after delay.",
                        {"retry-after": str(retry_after)})
    if kind == "500":
        return ApiError(500, "api_error", "Internal server error")
    return ApiError(529, "overloaded_error", "Overloaded")


def reshape(
    payload: dict[str, Any],
    kinds: tuple[str, ...],
    extra_field: str | None,
    request_page: str | None,
    extra_value: str = EXTRA_FIELD_VALUE,
) -> dict[str, Any]:
    """The payload with the JSON-level malformations and the extra field applied (on a copy)."""
    payload = copy.deepcopy(payload)
    rows = _rows(payload)
    for row in rows:
        if extra_field:
            row[extra_field] = extra_value
        if "string_number" in kinds:
            _map_integers(row, str)
        if "negative_tokens" in kinds:
            _map_integers(row, lambda n: -n)
        if "missing_field" in kinds and row:
            del row[next(iter(row))]
        if "unknown_enum" in kinds:
            row.update((key, value) for key, value in _UNKNOWN_ENUM_VALUES.items() if row.get(key) is not None)
    cursor_field = "next_page" if "next_page" in payload else "last_id" if "last_id" in payload else None
    if "has_more_without_next_page" in kinds and cursor_field:
        payload["has_more"] = True
        payload[cursor_field] = None
    if "repeating_next_page" in kinds and cursor_field == "next_page":
        if request_page:
            payload["has_more"] = True
            payload["next_page"] = request_page
        elif not payload.get("has_more"):  # a one-page report: point at a cursor that never moves on
            payload["has_more"] = True
            payload["next_page"] = REPEATING_CURSOR
    return payload


def corrupt(body: bytes, kinds: tuple[str, ...], echoed_key: str | None = None) -> tuple[bytes, str]:
    """The body and content type after the byte-level malformations."""
    if "html_200" in kinds:
        page = _MAINTENANCE_PAGE
        if echoed_key:
            page = page.replace(b"</body>", f"<pre>x-api-key: {echoed_key}</pre></body>".encode())
        return page, "text/html; charset=utf-8"
    if "truncated_json" in kinds:
        return body[: len(body) // 2], "application/json"
    return body, "application/json"


def _rows(payload: dict[str, Any]) -> list[dict[str, Any]]:
    data = payload.get("data")
    if not isinstance(data, list):
        return [payload]
    if all(isinstance(item, dict) and "results" in item for item in data) and data:
        return [row for bucket in data for row in bucket["results"]]
    return data


def _map_integers(node: dict[str, Any] | list[Any], change: Callable[[int], Any]) -> None:
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in list(items):
        if isinstance(value, (dict, list)):
            _map_integers(value, change)
        elif isinstance(value, int) and not isinstance(value, bool):
            node[key] = change(value)
