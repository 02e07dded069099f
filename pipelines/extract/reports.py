"""Fetch the three reports window by window, each window as large as one API page allows.

A date range is split into request windows of whole UTC days sized to the largest `limit` the
endpoint accepts (168 hourly buckets = 7 days, 31 daily buckets, one day for Claude Code), so a
year of history costs tens of requests, not hundreds, and memory holds one window at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Any

import polars as pl

from pipelines.api import AdminApiClient, iter_report_pages
from pipelines.normalize import (
    SchemaDrift,
    decode_claude_code_page,
    decode_cost_report_page,
    decode_messages_usage_page,
)
from pipelines.settings import DEFAULT_BUCKET_WIDTH

MESSAGES_USAGE_PATH = "/v1/organizations/usage_report/messages"
COST_REPORT_PATH = "/v1/organizations/cost_report"
CLAUDE_CODE_PATH = "/v1/organizations/usage_report/claude_code"

# Largest page (in buckets) per bucket width of the messages usage report.
MESSAGES_MAX_BUCKETS = {"1m": 1440, "1h": 168, "1d": 31}
BUCKETS_PER_DAY = {"1m": 1440, "1h": 24, "1d": 1}
COST_MAX_BUCKETS = 31
CLAUDE_CODE_PAGE_LIMIT = 1000

# Every dimension the messages usage report can group by (speed only behind its beta header).
MESSAGES_GROUP_BY = (
    "workspace_id",
    "api_key_id",
    "account_id",
    "service_account_id",
    "model",
    "service_tier",
    "context_window",
    "inference_geo",
)
COST_GROUP_BY = ("workspace_id", "description")
FAST_MODE_BETA = "fast-mode-2026-02-01"


@dataclass(frozen=True)
class FetchedWindow:
    """All rows of one request window [start, end), keyed by raw table name."""

    start: datetime
    end: datetime
    tables: dict[str, pl.DataFrame]
    pages: int
    requests: int
    drift: SchemaDrift


def request_windows(first_day: date, last_day: date, days_per_request: int) -> Iterator[tuple[datetime, datetime]]:
    """Split the inclusive UTC day range into half-open [start, end) windows aligned to midnight."""
    if last_day < first_day:
        raise ValueError(f"the range ends ({last_day}) before it starts ({first_day})")
    day = first_day
    while day <= last_day:
        window_last = min(day + timedelta(days=days_per_request - 1), last_day)
        yield _midnight(day), _midnight(window_last + timedelta(days=1))
        day = window_last + timedelta(days=1)


def messages_usage_days_per_request(bucket_width: str = DEFAULT_BUCKET_WIDTH, **_: object) -> int:
    """Whole days in the largest page of this bucket width (7 for 1h, 31 for 1d, 1 for 1m)."""
    return MESSAGES_MAX_BUCKETS[bucket_width] // BUCKETS_PER_DAY[bucket_width]


def fetch_messages_usage(
    client: AdminApiClient, start: datetime, end: datetime, *, bucket_width: str = DEFAULT_BUCKET_WIDTH, group_by_speed: bool = False
) -> FetchedWindow:
    """Messages usage of [start, end) grouped by every dimension, at `bucket_width`, in the largest pages allowed."""
    group_by = MESSAGES_GROUP_BY + (("speed",) if group_by_speed else ())
    params = [
        ("starting_at", _rfc3339(start)),
        ("ending_at", _rfc3339(end)),
        ("bucket_width", bucket_width),
        ("limit", str(MESSAGES_MAX_BUCKETS[bucket_width])),
        *(("group_by[]", dimension) for dimension in group_by),
    ]
    decode = partial(decode_messages_usage_page, bucket_width=bucket_width)
    return _fetch_window(client, MESSAGES_USAGE_PATH, params, decode, start, end, _rows_of("raw.messages_usage"))


def fetch_cost_report(client: AdminApiClient, start: datetime, end: datetime, **_: object) -> FetchedWindow:
    """Daily cost of [start, end) grouped by workspace and description (which fills model, token type, tier...)."""
    params = [
        ("starting_at", _rfc3339(start)),
        ("ending_at", _rfc3339(end)),
        ("bucket_width", "1d"),
        ("limit", str(COST_MAX_BUCKETS)),
        *(("group_by[]", dimension) for dimension in COST_GROUP_BY),
    ]
    return _fetch_window(client, COST_REPORT_PATH, params, decode_cost_report_page, start, end, _rows_of("raw.cost_report"))


def fetch_claude_code(client: AdminApiClient, start: datetime, end: datetime, **_: object) -> FetchedWindow:
    """Claude Code analytics of one UTC day (the endpoint serves one day per call), every page."""
    if end - start != timedelta(days=1):
        raise ValueError(f"Claude Code is fetched one day at a time, not {start}..{end}")
    params = [("starting_at", start.date().isoformat()), ("limit", str(CLAUDE_CODE_PAGE_LIMIT))]
    return _fetch_window(client, CLAUDE_CODE_PATH, params, decode_claude_code_page, start, end, _claude_code_frames)


def _fetch_window(
    client: AdminApiClient,
    path: str,
    params: list[tuple[str, str]],
    decode: Callable[[bytes], Any],
    start: datetime,
    end: datetime,
    frames_of_page: Callable[[Any], dict[str, pl.DataFrame]],
) -> FetchedWindow:
    """Walk every page of one request window and stack its frames per table."""
    requests_before = client.stats.requests
    frames: dict[str, list[pl.DataFrame]] = {}
    drift, pages = SchemaDrift(), 0
    for page in iter_report_pages(client, path, params, decode):
        for table, frame in frames_of_page(page).items():
            frames.setdefault(table, []).append(frame)
        drift, pages = drift + page.drift, pages + 1
    tables = {table: pl.concat(parts) for table, parts in frames.items()}
    return FetchedWindow(start, end, tables, pages, client.stats.requests - requests_before, drift)


def _rows_of(table: str) -> Callable[[Any], dict[str, pl.DataFrame]]:
    return lambda page: {table: page.rows}


def _claude_code_frames(page: Any) -> dict[str, pl.DataFrame]:
    return {
        "raw.claude_code_usage": page.usage,
        "raw.claude_code_model_usage": page.model_usage,
        "raw.claude_code_tool_actions": page.tool_actions,
    }


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _rfc3339(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")
