"""Split a day range into request windows and walk every page of one window into frames.

A date range is split into request windows of whole UTC days sized to the largest `limit` the
endpoint accepts (168 hourly buckets = 7 days, 31 daily buckets, one day for Claude Code), so a
year of history costs tens of requests, not hundreds, and memory holds one window at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import polars as pl

from pipelines.api import AdminApiClient, iter_report_pages
from pipelines.normalize import SchemaDrift
from pipelines.reports.spec import FetchedWindow


def request_windows(first_day: date, last_day: date, days_per_request: int) -> Iterator[tuple[datetime, datetime]]:
    """Split the inclusive UTC day range into half-open [start, end) windows aligned to midnight."""
    if last_day < first_day:
        raise ValueError(f"the range ends ({last_day}) before it starts ({first_day})")
    day = first_day
    while day <= last_day:
        window_last = min(day + timedelta(days=days_per_request - 1), last_day)
        yield midnight(day), midnight(window_last + timedelta(days=1))
        day = window_last + timedelta(days=1)


def fetch_window(
    client: AdminApiClient,
    path: str,
    params: Sequence[tuple[str, str]],
    decode: Callable[[bytes], Any],
    start: datetime,
    end: datetime,
    frames_of_page: Callable[[Any], dict[str, pl.DataFrame]],
    *,
    beta: Sequence[str] = (),
) -> FetchedWindow:
    """Walk every page of one request window and stack its frames per table."""
    requests_before = client.stats.requests
    frames: dict[str, list[pl.DataFrame]] = {}
    drift, pages = SchemaDrift(), 0
    for page in iter_report_pages(client, path, params, decode, beta=beta):
        for table, frame in frames_of_page(page).items():
            frames.setdefault(table, []).append(frame)
        drift, pages = drift + page.drift, pages + 1
    tables = {table: pl.concat(parts) for table, parts in frames.items()}
    return FetchedWindow(start, end, tables, pages, client.stats.requests - requests_before, drift)


def rows_of(table: str) -> Callable[[Any], dict[str, pl.DataFrame]]:
    """For decoders whose page has one frame, `rows`, for one table."""
    return lambda page: {table: page.rows}


def bucket_params(
    start: datetime, end: datetime, bucket_width: str, limit: int, group_by: Sequence[str] = ()
) -> list[tuple[str, str]]:
    """The query of a legacy bucketed report over [start, end): RFC 3339 bounds, width, page size
    (in buckets) and the dimensions to group by."""
    return [
        ("starting_at", rfc3339(start)),
        ("ending_at", rfc3339(end)),
        ("bucket_width", bucket_width),
        ("limit", str(limit)),
        *(("group_by[]", dimension) for dimension in group_by),
    ]


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def rfc3339(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")
