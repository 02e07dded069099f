"""Replace one time window of report tables atomically, and log the load.

This is the single write path for report data: every table of the window is deleted and
re-inserted, and the load log row is appended, in ONE transaction. A re-run therefore never
duplicates rows, a restated day replaces what was there, and a crash (even SIGKILL) or a
malformed page leaves the previous state intact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import polars as pl

from pipelines.warehouse import read_sql, replace_rows, transaction


@dataclass(frozen=True)
class TableRows:
    """Rows for one table of a window; `time_column` is what the window is deleted by."""

    table: str
    rows: pl.DataFrame
    time_column: str  # a TIMESTAMPTZ column (bucket_start) or a DATE column (date)


@dataclass(frozen=True)
class WindowLoad:
    """Everything fetched for one organization and one window [start, end) of whole UTC days."""

    organization_id: str
    window_start: datetime
    window_end: datetime
    tables: tuple[TableRows, ...]  # the first one is the table the load log describes
    day_totals_sql: str  # the first table's per-day rows, tokens and cost for the load log
    pages: int
    requests: int
    schema_warnings: tuple[str, ...] = field(default=())
    run_id: str | None = None
    source: str | None = None  # 'analytics' | 'legacy' | None, recorded per day in the load log


@dataclass(frozen=True)
class DayLoad:
    """What the load log recorded for one day of a window."""

    partition_date: str
    rows: int
    restated: bool


def replace_window(con: duckdb.DuckDBPyConnection, load: WindowLoad, loaded_at: datetime) -> list[DayLoad]:
    """Delete the window's rows of every table and insert the new ones, in one transaction."""
    window = {
        "organization_id": load.organization_id,
        "window_start": load.window_start,
        "window_end": load.window_end,
    }
    with transaction(con):
        for table_rows in load.tables:
            _replace_table_window(con, table_rows, window, loaded_at)
        main_table = load.tables[0].table
        con.execute(f"CREATE OR REPLACE TEMP TABLE day_totals AS {load.day_totals_sql}", window)
        con.execute(
            read_sql("load/insert_load_log.sql"),
            window
            | {
                "table_name": main_table,
                "loaded_at": loaded_at,
                "run_id": load.run_id,
                "pages": load.pages,
                "requests": load.requests,
                "schema_warnings": "; ".join(load.schema_warnings) or None,
                "source": load.source,
            },
        )
        logged = con.execute(
            "SELECT partition_date::VARCHAR, rows, restated FROM raw.load_log "
            "WHERE organization_id = $organization_id AND table_name = $table_name AND loaded_at = $loaded_at "
            "AND partition_date >= $window_start::DATE AND partition_date < $window_end::DATE ORDER BY 1",
            window | {"table_name": main_table, "loaded_at": loaded_at},
        ).fetchall()
        con.execute("DROP TABLE day_totals")
    return [DayLoad(day, rows, restated) for day, rows, restated in logged]


def _replace_table_window(
    con: duckdb.DuckDBPyConnection, table_rows: TableRows, window: dict[str, object], loaded_at: datetime
) -> None:
    column = table_rows.time_column
    _check_inside_window(table_rows, window)
    bounds = (
        f"{column} >= $window_start::DATE AND {column} < $window_end::DATE"
        if column == "date"
        else f"{column} >= $window_start AND {column} < $window_end"
    )
    con.register("incoming_rows", table_rows.rows)
    try:
        replace_rows(
            con, table_rows.table, f"organization_id = $organization_id AND {bounds}",
            "SELECT *, $organization_id AS organization_id, $loaded_at AS loaded_at FROM incoming_rows",
            window | {"loaded_at": loaded_at},
        )
    finally:
        con.unregister("incoming_rows")


def _check_inside_window(table_rows: TableRows, window: dict[str, object]) -> None:
    """Refuse rows outside the window: they would survive the next load of their own window twice."""
    if table_rows.rows.is_empty():
        return
    times = table_rows.rows.get_column(table_rows.time_column)
    start, end = window["window_start"], window["window_end"]
    if table_rows.time_column == "date":
        start, end = start.date(), end.date()
    if times.min() < start or times.max() >= end:
        raise ValueError(
            f"{table_rows.table}: rows from {times.min()} to {times.max()} fall outside the requested window "
            f"[{start}, {end})"
        )
