"""Publish the warehouse for readers: a serving DuckDB copy and monthly Parquet files.

DuckDB lets one process write a file, and a reader holding even a read-only handle blocks that
writer. So analysts and BI tools never open the pipeline's file: after each successful run the
pipeline writes a complete copy beside it and swaps it in with one atomic rename. Readers of the
old copy keep their snapshot; new connections see the new one; nobody sees a half-written state.
The copy uses an old storage version so the DuckDB releases embedded in BI drivers can read it.

A publication is incremental when it can be: the new copy starts as a file copy of the previous
one, and only the changed UTC days of the day-grained tables (raw reports and incremental marts,
``pipelines.catalog.dated_tables``) are replaced in it, the small tables whole; the Parquet export
rewrites only the changed months and hard-links the rest. What a copy was published from is
recorded in its ``meta`` schema; anything unusual (another warehouse, a full marts rebuild, a new
column, a missing Parquet export, a copy that cannot be read) makes a full publication instead. A
copy or an export changed since it was published (``pipelines.fingerprints``) is repaired: the
altered tables are copied whole again, the altered months written again.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from pipelines.catalog import dated_tables
from pipelines.changes import changed_days, latest_loads_sql
from pipelines.fingerprints import (FILES, FINGERPRINTS, META_TABLES, altered_tables, intact_months, record_files,
                                    record_fingerprints, sign, unchanged_since_signed)
from pipelines.terminal import first_line
from pipelines.warehouse import connect, read_sql, refuse_unsafe_paths, replace_days, writer_lock

PUBLISHED_SCHEMAS = ("raw", "marts")
_SCHEMA_LIST = ", ".join(f"'{schema}'" for schema in PUBLISHED_SCHEMAS)  # for SQL IN (...)
# The oldest storage format DuckDB 2 writes; every DuckDB >= 1.0 (and BI drivers embedding it) reads it.
SERVING_STORAGE_VERSION = "v1.0.0"
# Columns that place a row in a month, by preference; tables without one export as a single file.
MONTH_COLUMNS = ("date", "bucket_start", "partition_date", "charge_period_start", "ChargePeriodStart", "month")


class NoServingCopyError(RuntimeError):
    """No readable serving copy at the serving path: nothing published yet, or the file is damaged."""


@dataclass(frozen=True)
class Publication:
    serving_path: Path
    parquet_path: Path | None
    tables: int
    rows: int
    is_full: bool = True
    reason: str = "full"
    days: tuple[date, ...] = ()  # the UTC days replaced, on an incremental publication
    repaired: tuple[str, ...] = ()  # tables and Parquet months that had changed since their publication


@dataclass(frozen=True)
class _Plan:
    """Full, or incremental over ``days`` (with the previous Parquet export to reuse, if any), copying
    ``altered_tables`` whole and writing ``damaged_months`` (table folder, month) again."""

    reason: str
    days: list[date] = field(default_factory=list)
    previous_export: Path | None = None
    altered_tables: frozenset[str] = frozenset()
    reusable_files: tuple[str, ...] = ()  # the previous export's files, relative to it, that are intact
    damaged_months: frozenset[tuple[str, str]] = frozenset()

    @property
    def repaired(self) -> tuple[str, ...]:
        months = (f"{folder}/export_month={month}" for folder, month in sorted(self.damaged_months))
        return (*sorted(self.altered_tables), *months)

    @property
    def is_full(self) -> bool:
        return self.reason != "incremental"


def publish(warehouse_path: str | Path, serving_path: str | Path, parquet_dir: str | Path | None = None) -> Publication:
    """Bring the serving copy (and, with `parquet_dir`, the Parquet export) up to date with the
    warehouse's raw and marts tables, then swap it in atomically.

    The Parquet export is partitioned by month where a table has a date, written into a new folder
    that `parquet_dir` (a symlink) is switched to atomically.
    """
    refuse_unsafe_paths({"WAREHOUSE_PATH": warehouse_path, "USAGE_PIPELINE_SERVING_PATH": serving_path}, parquet_dir)
    serving_path = Path(serving_path)
    serving_path.parent.mkdir(parents=True, exist_ok=True)
    warehouse_path = Path(warehouse_path).resolve()
    with writer_lock(serving_path):  # one publisher at a time per serving copy
        for leftover in serving_path.parent.glob(f".{serving_path.name}.*.tmp"):  # of a killed publisher
            leftover.unlink()
        staging_path = serving_path.with_name(f".{serving_path.name}.{os.getpid()}.tmp")
        # In memory: attaches the warehouse read-only and the new copy; capped like every warehouse
        # connection, spilling beside the copy (README, Performance, "Why these settings").
        spill = serving_path.with_name(f"{serving_path.name}.tmp")
        with connect(":memory:", config={"temp_directory": str(spill)}) as con:
            con.execute(f"ATTACH '{_sql_path(warehouse_path)}' AS warehouse (READ_ONLY)")
            tables = _published_tables(con)
            dated = dated_tables()
            day_columns = {f"{schema}.{table}": dated.get(f"{schema}.{table}") for schema, table in tables}
            plan = _plan(con, warehouse_path, serving_path, Path(parquet_dir) if parquet_dir else None, day_columns)
            if plan.is_full:
                con.execute(f"ATTACH '{_sql_path(staging_path)}' AS serving (STORAGE_VERSION '{SERVING_STORAGE_VERSION}')")
            else:
                shutil.copyfile(serving_path, staging_path)
                con.execute(f"ATTACH '{_sql_path(staging_path)}' AS serving")
            rows = _copy_tables(con, tables, plan, day_columns)
            parquet_path = _export_parquet(con, tables, Path(parquet_dir), plan, day_columns) if parquet_dir else None
            _record(con, warehouse_path, parquet_path, plan, day_columns)
            con.execute("DETACH serving")
        os.replace(staging_path, serving_path)
        sign(serving_path)
    return Publication(serving_path, parquet_path, len(tables), rows, plan.is_full, plan.reason, tuple(plan.days),
                       plan.repaired)


@contextmanager
def read_serving_copy(serving_path: str | Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only, sandboxed connection to the serving copy in UTC, as every reader opens it
    (readers never open the warehouse), or an error saying how to create the copy.

    Sandboxed because readers run SQL the pipeline did not write (`usage-pipeline sql`): with
    external access off and the configuration locked, no statement can attach the warehouse, copy
    over a file, read one (an environment file holding the admin key) or load an extension.
    """
    path = Path(serving_path)
    if not path.is_file():
        raise NoServingCopyError(f"no serving copy at {path} yet: run `usage-pipeline sync` (or `usage-pipeline demo`) first")
    with ExitStack() as stack:
        try:
            con = stack.enter_context(connect(path, read_only=True, sandboxed=True))
        except duckdb.Error as exc:
            raise NoServingCopyError(
                f"the serving copy {path} cannot be read ({first_line(exc)}): "
                "run `usage-pipeline sync` to publish it again"
            ) from None
        yield con


def _published_tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    return con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() "
        f"WHERE database_name = 'warehouse' AND schema_name IN ({_SCHEMA_LIST}) "
        "UNION ALL SELECT schema_name, view_name FROM duckdb_views() "
        f"WHERE database_name = 'warehouse' AND schema_name IN ({_SCHEMA_LIST}) ORDER BY 1, 2"
    ).fetchall()


def _plan(con: duckdb.DuckDBPyConnection, warehouse_path: Path, serving_path: Path, parquet_dir: Path | None,
          day_columns: dict[str, str | None]) -> _Plan:
    """Incremental from the previous copy when it can be read, was published from this warehouse,
    no marts build since was full, and every table has the same columns; else full."""
    if not serving_path.is_file():
        return _Plan("no previous serving copy")
    try:
        con.execute(f"ATTACH '{_sql_path(serving_path)}' AS previous (READ_ONLY)")
    except duckdb.Error as exc:
        return _Plan(f"the previous copy cannot be read ({first_line(exc)})")
    try:
        return _incremental_plan(con, warehouse_path, serving_path, parquet_dir, day_columns)
    except duckdb.Error as exc:  # a damaged file can open and still fail to read
        return _Plan(f"the previous copy cannot be read ({first_line(exc)})")
    finally:
        con.execute("DETACH previous")


def _incremental_plan(con: duckdb.DuckDBPyConnection, warehouse_path: Path, serving_path: Path,
                      parquet_dir: Path | None, day_columns: dict[str, str | None]) -> _Plan:
    altered: set[str] = set()
    if not unchanged_since_signed(serving_path):  # written since it was published: check what it holds
        if not _has_table(con, "previous", "meta", "published_fingerprints"):
            return _Plan("the previous copy does not record what it held")
        altered = altered_tables(con, "previous", day_columns)
        if unexpected := altered - set(day_columns):
            return _Plan(f"the previous copy was changed since it was published ({', '.join(sorted(unexpected))})")
    if not _has_table(con, "previous", "meta", "publication"):
        return _Plan("the previous copy does not say what it was published from")
    source, build_id, built_at, export = con.execute(
        "SELECT warehouse_path, mart_build_id, mart_built_at, parquet_export FROM previous.meta.publication"
    ).fetchone()
    if source != str(warehouse_path):
        return _Plan(f"the previous copy was published from {source}")
    if not _has_table(con, "warehouse", "meta", "mart_builds") or not con.execute(
        "SELECT count(*) FROM warehouse.meta.mart_builds WHERE build_id = ? AND built_at = ?", [build_id, built_at]
    ).fetchone()[0]:
        return _Plan("the warehouse does not have the marts build the previous copy was published from")
    if _columns(con, "previous") != _columns(con, "warehouse"):
        return _Plan("the tables or their columns changed")
    days = set(changed_days(con, "previous.meta.published_partitions", load_log="warehouse.raw.load_log"))
    builds = con.execute(
        "SELECT is_full, days FROM warehouse.meta.mart_builds WHERE build_id > ?", [build_id]).fetchall()
    if any(is_full for is_full, _ in builds):
        return _Plan("the marts were rebuilt in full")
    days.update(day for _, build_days in builds for day in build_days)
    previous_export = parquet_dir.with_name(export) if parquet_dir and export else None
    if parquet_dir and (previous_export is None or not parquet_dir.is_symlink()
                        or parquet_dir.resolve() != previous_export.resolve()):
        return _Plan("the Parquet export is not the previous publication's")
    reusable, damaged = intact_months(con, "previous", previous_export) if previous_export else ([], set())
    return _Plan("incremental", sorted(days), previous_export, frozenset(altered), tuple(reusable), frozenset(damaged))


def _copy_tables(con: duckdb.DuckDBPyConnection, tables: list[tuple[str, str]], plan: _Plan,
                 day_columns: dict[str, str | None]) -> int:
    """Copy the tables into the attached serving copy: whole, or only the plan's days of the
    day-grained ones (``day_columns``) that were not altered since. Returns the rows now in the copy."""
    rows = 0
    for schema, table in tables:
        target, source = f'serving.{schema}."{table}"', f'warehouse.{schema}."{table}"'
        day_column = day_columns.get(f"{schema}.{table}")
        if plan.is_full:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS serving.{schema}")
            con.execute(f"CREATE TABLE {target} AS FROM {source}")
        elif day_column is None or f"{schema}.{table}" in plan.altered_tables:
            con.execute(f"CREATE OR REPLACE TABLE {target} AS FROM {source}")
        else:
            replace_days(con, target, day_column, plan.days, source)
        rows += con.execute(f"SELECT count(*) FROM {target}").fetchall()[0][0]
    return rows


def _record(con: duckdb.DuckDBPyConnection, warehouse_path: Path, parquet_path: Path | None, plan: _Plan,
            day_columns: dict[str, str | None]) -> None:
    """Write into the copy what it was published from and what it holds, for the next publication
    (and for readers)."""
    con.execute("USE serving")
    try:
        con.execute(read_sql("meta/publication.sql"))
    finally:
        con.execute("USE memory")
    build_id = built_at = None
    if _has_table(con, "warehouse", "meta", "mart_builds"):
        build_id, built_at = con.execute(
            "SELECT build_id, built_at FROM warehouse.meta.mart_builds ORDER BY build_id DESC LIMIT 1"
        ).fetchone() or (None, None)
    con.execute("DELETE FROM serving.meta.publication")
    con.execute("INSERT INTO serving.meta.publication VALUES (current_timestamp, ?, ?, ?, ?)",
                [str(warehouse_path), build_id, built_at, parquet_path.name if parquet_path else None])
    con.execute("DELETE FROM serving.meta.published_partitions")
    con.execute(f"INSERT INTO serving.meta.published_partitions {latest_loads_sql('warehouse.raw.load_log')}")
    if parquet_path:
        record_files(con, "serving", parquet_path)
    else:
        con.execute(f"DELETE FROM serving.{FILES}")
    if plan.is_full:
        record_fingerprints(con, "serving", day_columns)
    else:  # the days not copied keep their fingerprints
        record_fingerprints(con, "serving", {table: None for table, column in day_columns.items()
                                             if column is None or table in plan.altered_tables})
        record_fingerprints(con, "serving", {table: column for table, column in day_columns.items()
                                             if column and table not in plan.altered_tables}, plan.days)
    record_fingerprints(con, "serving", {table: None for table in META_TABLES if table != FINGERPRINTS})


def _export_parquet(con: duckdb.DuckDBPyConnection, tables: list[tuple[str, str]], parquet_dir: Path,
                    plan: _Plan, day_columns: dict[str, str | None]) -> Path:
    """Write a new export folder, point the `parquet_dir` symlink at it, delete the previous one.

    On an incremental publication, the months without a changed day are hard links to the previous
    export's files; only the changed months of day-grained tables (and the small tables) are written,
    and the months whose files changed since the previous publication.
    """
    parquet_dir.parent.mkdir(parents=True, exist_ok=True)
    export = parquet_dir.with_name(f"{parquet_dir.name}-{datetime.now(UTC):%Y%m%dT%H%M%S%f}")
    changed_months = sorted({day.strftime("%Y-%m") for day in plan.days})
    for schema, table in tables:
        target = export / schema / table
        target.mkdir(parents=True)
        month_column = day_columns.get(f"{schema}.{table}") or _month_column(con, schema, table)
        source = f'warehouse.{schema}."{table}"'
        if not month_column:
            con.execute(f"COPY {source} TO '{_sql_path(target / 'data.parquet')}' (FORMAT parquet)")
            continue
        months = f"strftime(\"{month_column}\", '%Y-%m')"
        where = ""
        if not plan.is_full and plan.previous_export and day_columns.get(f"{schema}.{table}"):
            folder = f"{schema}/{table}"
            written = sorted({*changed_months, *(month for damaged, month in plan.damaged_months if damaged == folder)})
            _link_months(plan, folder, export, written)
            if not written:
                continue
            where = " WHERE " + " OR ".join(_month_filter(month_column, month) for month in written)
        con.execute(
            f"COPY (SELECT *, {months} AS export_month FROM {source}{where}) "
            f"TO '{_sql_path(target)}' (FORMAT parquet, PARTITION_BY (export_month), OVERWRITE_OR_IGNORE)"
        )
    link = parquet_dir.with_name(f".{parquet_dir.name}.link.tmp")
    link.unlink(missing_ok=True)
    link.symlink_to(export.name)
    os.replace(link, parquet_dir)
    for old in parquet_dir.parent.glob(f"{parquet_dir.name}-*"):  # the previous export, and any a killed run left
        if old != export and re.fullmatch(rf"{re.escape(parquet_dir.name)}-\d{{8}}T\d{{12}}", old.name):
            shutil.rmtree(old)
    return export


def _month_filter(column: str, month: str) -> str:
    """``column`` falls in ``month`` (YYYY-MM), as a range DuckDB can skip row groups with."""
    first = date.fromisoformat(f"{month}-01")
    after = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return f'("{column}" >= DATE \'{first}\' AND "{column}" < DATE \'{after}\')'


def _link_months(plan: _Plan, folder: str, export: Path, written_months: list[str]) -> None:
    """Hard-link the previous export's intact files of a table folder into the new export, except
    those of the months written anew."""
    for path in plan.reusable_files:
        table_folder, _, rest = path.rpartition("/export_month=")
        if table_folder == folder and rest.split("/", 1)[0] not in written_months:
            (export / path).parent.mkdir(exist_ok=True)
            os.link(plan.previous_export / path, export / path)


def _has_table(con: duckdb.DuckDBPyConnection, database: str, schema: str, table: str) -> bool:
    return bool(con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND schema_name = ? AND table_name = ?",
        [database, schema, table]).fetchone()[0])


def _columns(con: duckdb.DuckDBPyConnection, database: str) -> list[tuple]:
    return con.execute(
        "SELECT schema_name, table_name, column_index, column_name, data_type FROM duckdb_columns() "
        f"WHERE database_name = ? AND schema_name IN ({_SCHEMA_LIST}) ORDER BY ALL", [database]).fetchall()


def _month_column(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> str | None:
    columns = {
        name: data_type
        for name, data_type in con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() "
            "WHERE database_name = 'warehouse' AND schema_name = ? AND table_name = ?",
            [schema, table],
        ).fetchall()
    }
    for name in MONTH_COLUMNS:
        if name in columns and columns[name].startswith(("DATE", "TIMESTAMP")):
            return name
    return None


def _sql_path(path: str | Path) -> str:
    return str(path).replace("'", "''")
