"""Extract -> normalize -> load for one report or the entity lists, independent of Dagster.

The Dagster assets and the tests call these functions; each request window is written in its
own transaction as soon as it is fetched, so memory holds at most two windows (the one being
written and the next one, fetched meanwhile) and a failure loses at most the window being
fetched (which then keeps its previous rows). One connection writes every window of an ingest.

A window whose pages are malformed (bad JSON, wrong types, broken pagination) is skipped and the
following windows are still loaded, so one bad day costs a re-run of that day, not of the range;
the ingest then fails naming every skipped window. Errors that no other window can escape (a
rejected key, the spend cap, an API still failing after every retry, a locked warehouse) stop at
once. The caller (a Dagster step) holds the warehouse's writer lock, so two syncs never interleave.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, closing
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import duckdb

from pipelines.api import AdminApiClient, AdminApiError, MalformedResponseError, PaginationError, PermissionDeniedError
from pipelines.catalog import ensure_schema
from pipelines.extract.entities import ENTITY_KEYS, fetch_entity_snapshot, fetch_organization
from pipelines.load.history import SnapshotChanges, apply_snapshot
from pipelines.load.partitions import TableRows, WindowLoad, replace_window
from pipelines.progress import Progress, WindowsDone, no_progress
from pipelines.reports import FetchedWindow, ReportSpec
from pipelines.reports.windows import request_windows
from pipelines.sources import day_runs, days_to_load, fallback_reason, fell_back, record_status
from pipelines.warehouse import LOADER_CHECKPOINT_THRESHOLD, LOADER_MEMORY_LIMIT, connect, transaction

OptionsT = TypeVar("OptionsT")


class WindowLoadError(RuntimeError):
    """A request window could not be fetched or loaded; nothing of it was committed."""


# Errors that belong to one window's responses or rows: the other windows can still load.
WINDOW_ERRORS = (MalformedResponseError, PaginationError, ValueError)


@dataclass
class IngestResult:
    """What one report ingest did, for Dagster metadata and progress output."""

    table: str
    first_day: date
    last_day: date
    organizations: list[str] = field(default_factory=list)
    rows: int = 0
    pages: int = 0
    requests: int = 0
    retries: int = 0
    windows: int = 0
    windows_planned: int = 0
    restated_days: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def ingest_report(
    report: ReportSpec[OptionsT],
    clients: list[AdminApiClient],
    warehouse_path: str | Path,
    first_day: date,
    last_day: date,
    options: OptionsT,
    *,
    source: str = "auto",
    run_id: str | None = None,
    progress: Progress = no_progress,
) -> IngestResult:
    """Fetch every window of [first_day, last_day] for each organization and replace it in the warehouse,
    on the days the `source` setting gives this report (see `pipelines.sources`).

    Raises WindowLoadError naming every window that could not be loaded (the others are loaded).
    The caller holds the warehouse's writer lock.
    """
    result = IngestResult(report.table, first_day, last_day)
    failures: list[str] = []
    windows_tried = 0
    with _Writer(warehouse_path) as writer:
        for client in clients:
            windows_tried += _ingest_organization(
                report, client, writer, first_day, last_day, source, run_id, progress, options, result, failures
            )
    result.warnings = sorted(set(result.warnings))
    if len(failures) == 1:
        others = f"the other {windows_tried - 1} window(s) were loaded" if windows_tried > 1 else "it was the only window"
        raise WindowLoadError(
            f"{failures[0].rstrip('.')}. Nothing of these days was committed ({others}); "
            "fix the cause and re-run the same range."
        )
    if failures:
        raise WindowLoadError(
            f"{len(failures)} of {windows_tried} request windows could not be loaded; nothing of them was committed "
            f"(the others were loaded); fix the cause and re-run the same range: " + " ;; ".join(failures)
        )
    return result


def _ingest_organization(
    report: ReportSpec[OptionsT],
    client: AdminApiClient,
    writer: _Writer,
    first_day: date,
    last_day: date,
    source: str,
    run_id: str | None,
    progress: Progress,
    options: OptionsT,
    result: IngestResult,
    failures: list[str],
) -> int:
    """Every window of one organization, into `result` and `failures`; returns the windows tried."""
    retries_before = client.stats.retries
    organization_id = fetch_organization(client).item(0, "id")
    result.organizations.append(organization_id)
    con = writer.connection()
    days = days_to_load(report, source, first_day, last_day, datetime.now(UTC).date(),
                        fell_back(con, organization_id, report.replaced_by))
    windows = [window for first, last in day_runs(days)
               for window in request_windows(first, last, report.days_per_request(options))]

    def fetch(start: datetime, end: datetime) -> FetchedWindow:
        return report.fetch(client, start, end, options)

    def window_done(line: str) -> None:
        progress(WindowsDone(report.table, result.windows + len(failures), result.windows_planned, result.rows, line))

    result.windows_planned += len(windows)
    window_done(f"{report.table}: {len(windows)} request window(s) to load for organization {organization_id}")

    windows_tried, fallback = 0, None
    with closing(_fetched_ahead(fetch, windows)) as fetched_windows:
        for start, end, fetched in fetched_windows:
            windows_tried += 1
            where = f"{report.table} for organization {organization_id}, partitions {_day_span(start, end)}"
            try:
                if isinstance(fetched, Exception):
                    raise fetched
                window = fetched
                days = _load_window(report, window, organization_id, con, run_id)
            except WINDOW_ERRORS as exc:
                failures.append(f"{where}: {exc}")
                window_done(f"{report.table} {_day_span(start, end)}: NOT loaded")
                request_id = getattr(exc, "request_id", None)
                progress(
                    f"{report.table} {_day_span(start, end)}: NOT loaded ({type(exc).__name__}"
                    + (f", request-id {request_id}" if request_id else "")
                    + "); nothing of these days was committed; continuing with the next window"
                )
                continue
            except AdminApiError as exc:
                if report.source == "analytics" and source == "auto" and (fallback := fallback_reason(exc)):
                    progress(f"{report.name}: {fallback}; organization {organization_id} is loaded from the legacy reports")
                    result.warnings.append(f"fell back to the legacy reports: {fallback}")
                    break
                if isinstance(exc, PermissionDeniedError):  # the organization answered, this report is out of scope
                    progress(f"{report.name}: skipped for organization {organization_id}: the key may not read it (403)")
                    result.warnings.append(f"skipped: the key may not read {report.name} (403)")
                    break
                raise WindowLoadError(
                    f"{where}: {exc}. Nothing of these days was committed "
                    f"(earlier windows are kept); fix the cause and re-run the same range."
                ) from exc
            for warning in window.drift.warnings():
                progress(f"warning: {report.table} {_day_span(window.start, window.end)}: schema drift: {warning}")
            rows = sum(day.rows for day in days)
            restated = [day.partition_date for day in days if day.restated]
            result.rows += rows
            result.pages += window.pages
            result.requests += window.requests
            result.windows += 1
            result.restated_days += restated
            result.warnings += window.drift.warnings()
            window_done(
                f"{report.table} {_day_span(window.start, window.end)}: {rows} rows, {window.pages} page(s)"
                + (f", restated {', '.join(restated)}" if restated else "")
            )
    if report.source == "analytics" and windows:
        record_status(con, organization_id, report.name, fallback)
    result.requests += 1  # the /me call
    result.retries += client.stats.retries - retries_before
    return windows_tried


def _fetched_ahead(
    fetch: Callable[[datetime, datetime], FetchedWindow], windows: Iterable[tuple[datetime, datetime]]
) -> Iterator[tuple[datetime, datetime, FetchedWindow | Exception]]:
    """(start, end, the fetched window or the error its fetch raised), in order.

    Each window is fetched in a background thread as soon as the previous window's fetch has
    ended, so it overlaps the caller's writing of that previous window (DuckDB and polars release
    the GIL). The requests are the same, in the same order, as fetching one window at a time:
    after an error that stops the ingest (anything but WINDOW_ERRORS) nothing more is requested.
    """
    windows = iter(windows)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fetch-window") as pool:
        upcoming = next(windows, None)
        pending = pool.submit(fetch, *upcoming) if upcoming else None
        while upcoming and pending:
            start, end = upcoming
            try:
                fetched: FetchedWindow | Exception = pending.result()
            except Exception as exc:  # handed to the caller in order, as if raised by its own fetch
                fetched = exc
            upcoming = next(windows, None)
            if isinstance(fetched, Exception) and not isinstance(fetched, WINDOW_ERRORS):
                upcoming = None
            pending = pool.submit(fetch, *upcoming) if upcoming else None
            yield start, end, fetched


class _Writer:
    """The ingest's one warehouse connection, opened once an organization answered (so an ingest
    that fails before any data, a rejected key say, leaves no warehouse behind) and closed at the end."""

    def __init__(self, warehouse_path: str | Path):
        self._path = warehouse_path
        self._stack = ExitStack()
        self._con: duckdb.DuckDBPyConnection | None = None

    def connection(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            self._con = self._stack.enter_context(connect(self._path, memory_limit=LOADER_MEMORY_LIMIT))
            self._con.execute(f"SET checkpoint_threshold = '{LOADER_CHECKPOINT_THRESHOLD}'")
            ensure_schema(self._con)
        return self._con

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stack.close()


def ingest_entities(
    clients: list[AdminApiClient],
    warehouse_path: str | Path,
    *,
    progress: Progress = no_progress,
) -> list[SnapshotChanges]:
    """Snapshot every entity list of each organization into the history tables, one transaction per org.

    The caller holds the warehouse's writer lock.
    """
    changes: list[SnapshotChanges] = []
    for client in clients:
        snapshot = fetch_entity_snapshot(client, fetch_organization(client))
        snapshot_at = datetime.now(UTC)
        with connect(warehouse_path) as con:
            ensure_schema(con)
            with transaction(con):
                org_changes = [
                    apply_snapshot(con, table, rows, ENTITY_KEYS[table], snapshot.organization_id, snapshot_at)
                    for table, rows in snapshot.tables.items()
                ]
        changes += org_changes
        for warning in snapshot.drift.warnings():
            progress(f"warning: {warning}")
        if snapshot.skipped:
            progress(f"entities of {snapshot.organization_name or snapshot.organization_id}: skipped "
                     f"{', '.join(snapshot.skipped)}: the key may not list them (403); their history is kept")
        progress(
            f"entities of {snapshot.organization_name or snapshot.organization_id}: "
            + ", ".join(f"{c.table} {c.current} (+{c.opened} versions)" for c in org_changes)
        )
    return changes


def _load_window(
    report: ReportSpec, window: FetchedWindow, organization_id: str, con: duckdb.DuckDBPyConnection, run_id: str | None
) -> list:
    tables = tuple(
        TableRows(table, window.tables[table], time_column) for table, time_column in report.tables.items()
    )
    load = WindowLoad(
        organization_id=organization_id,
        window_start=window.start,
        window_end=window.end,
        tables=tables,
        day_totals_sql=report.day_totals_sql,
        pages=window.pages,
        requests=window.requests,
        schema_warnings=tuple(window.drift.warnings()),
        run_id=run_id,
        source=report.source,
    )
    return replace_window(con, load, datetime.now(UTC))


def _day_span(start: datetime, end: datetime) -> str:
    """A window as inclusive UTC days: '2026-11-01' or '2026-11-01..2026-11-07'."""
    last = (end - timedelta(days=1)).date()
    return start.date().isoformat() if last == start.date() else f"{start.date()}..{last}"
