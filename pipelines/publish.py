"""Publish the warehouse for readers: a serving DuckDB copy and monthly Parquet files.

DuckDB lets one process write a file, and a reader holding even a read-only handle blocks that
writer. So analysts and BI tools never open the pipeline's file: after each successful run the
pipeline writes a complete copy beside it and swaps it in with one atomic rename. Readers of the
old copy keep their snapshot; new connections see the new one; nobody sees a half-written state.
The copy uses an old storage version so the DuckDB releases embedded in BI drivers can read it.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipelines.load.warehouse import DUCKDB_MEMORY_LIMIT, writer_lock

PUBLISHED_SCHEMAS = ("raw", "marts")
# The oldest storage format DuckDB 2 writes; every DuckDB >= 1.0 (and BI drivers embedding it) reads it.
SERVING_STORAGE_VERSION = "v1.0.0"
# Columns that place a row in a month, by preference; tables without one export as a single file.
MONTH_COLUMNS = ("date", "bucket_start", "partition_date", "charge_period_start", "ChargePeriodStart", "month")


class NoServingCopyError(RuntimeError):
    """Nothing has been published at the serving path yet."""


@dataclass(frozen=True)
class Publication:
    serving_path: Path
    parquet_path: Path | None
    tables: int
    rows: int


def publish(warehouse_path: str | Path, serving_path: str | Path, parquet_dir: str | Path | None = None) -> Publication:
    """Copy every raw and marts table into a fresh serving file, then swap it in atomically.

    With `parquet_dir`, also export every table as Parquet, partitioned by month where the table
    has a date, into a new folder that `parquet_dir` (a symlink) is switched to atomically.
    """
    serving_path = Path(serving_path)
    serving_path.parent.mkdir(parents=True, exist_ok=True)
    with writer_lock(serving_path):  # one publisher at a time per serving copy
        for leftover in serving_path.parent.glob(f".{serving_path.name}.*.tmp"):  # of a killed publisher
            leftover.unlink()
        staging_path = serving_path.with_name(f".{serving_path.name}.{os.getpid()}.tmp")
        # In memory: attaches the warehouse read-only and the new copy; capped like every warehouse
        # connection, spilling beside the copy (the Parquet export of a year would take 1 GB otherwise).
        spill = serving_path.with_name(f"{serving_path.name}.tmp")
        con = duckdb.connect(config={"memory_limit": DUCKDB_MEMORY_LIMIT, "temp_directory": str(spill)})
        try:
            con.execute(f"ATTACH '{_sql_path(warehouse_path)}' AS warehouse (READ_ONLY)")
            con.execute(f"ATTACH '{_sql_path(staging_path)}' AS serving (STORAGE_VERSION '{SERVING_STORAGE_VERSION}')")
            tables = _published_tables(con)
            rows = 0
            for schema, table in tables:
                con.execute(f"CREATE SCHEMA IF NOT EXISTS serving.{schema}")
                con.execute(f'CREATE TABLE serving.{schema}."{table}" AS FROM warehouse.{schema}."{table}"')
                rows += con.execute(f'SELECT count(*) FROM serving.{schema}."{table}"').fetchall()[0][0]
            con.execute("DETACH serving")
            parquet_path = _export_parquet(con, tables, Path(parquet_dir)) if parquet_dir else None
        finally:
            con.close()
        os.replace(staging_path, serving_path)
    return Publication(serving_path, parquet_path, len(tables), rows)


def require_serving_copy(serving_path: str | Path) -> Path:
    """The serving copy's path, or an error saying how to create it (readers never open the warehouse)."""
    path = Path(serving_path)
    if not path.is_file():
        raise NoServingCopyError(f"no serving copy at {path} yet: run `usage-pipeline sync` (or `usage-pipeline demo`) first")
    return path


def _published_tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    schemas = ", ".join(f"'{s}'" for s in PUBLISHED_SCHEMAS)
    return con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() "
        f"WHERE database_name = 'warehouse' AND schema_name IN ({schemas}) "
        "UNION ALL SELECT schema_name, view_name FROM duckdb_views() "
        f"WHERE database_name = 'warehouse' AND schema_name IN ({schemas}) ORDER BY 1, 2"
    ).fetchall()


def _export_parquet(con: duckdb.DuckDBPyConnection, tables: list[tuple[str, str]], parquet_dir: Path) -> Path:
    """Write a new export folder, point the `parquet_dir` symlink at it, delete the previous one."""
    parquet_dir.parent.mkdir(parents=True, exist_ok=True)
    export = parquet_dir.with_name(f"{parquet_dir.name}-{datetime.now(UTC):%Y%m%dT%H%M%S%f}")
    for schema, table in tables:
        target = export / schema / table
        target.mkdir(parents=True)
        month_column = _month_column(con, schema, table)
        source = f'warehouse.{schema}."{table}"'
        if month_column:
            con.execute(
                f"COPY (SELECT *, strftime(\"{month_column}\", '%Y-%m') AS export_month FROM {source}) "
                f"TO '{_sql_path(target)}' (FORMAT parquet, PARTITION_BY (export_month), OVERWRITE_OR_IGNORE)"
            )
        else:
            con.execute(f"COPY {source} TO '{_sql_path(target / 'data.parquet')}' (FORMAT parquet)")
    if parquet_dir.exists() and not parquet_dir.is_symlink():
        raise FileExistsError(f"{parquet_dir} exists and is not a symlink made by the pipeline; move it away")
    link = parquet_dir.with_name(f".{parquet_dir.name}.link.tmp")
    link.unlink(missing_ok=True)
    link.symlink_to(export.name)
    os.replace(link, parquet_dir)
    for old in parquet_dir.parent.glob(f"{parquet_dir.name}-*"):  # the previous export, and any a killed run left
        if old != export and re.fullmatch(rf"{re.escape(parquet_dir.name)}-\d{{8}}T\d{{12}}", old.name):
            shutil.rmtree(old)
    return export


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
