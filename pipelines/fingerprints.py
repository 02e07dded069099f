"""What a publication recorded about the serving copy and the Parquet export, and what no longer
matches it.

An incremental publication patches the previous copy and hard-links the previous export's months,
so it must not build on something that changed since: a BI tool that opened the copy read-write
and deleted rows, a month folder deleted by hand, a copy truncated by a full disk. At publication
the copy's ``meta`` records a fingerprint (rows, and the sum of every row's hash) of each table,
per UTC day for the day-grained ones, and the size and modification time of every export file;
the next publication compares before it patches, and copies again what differs.

Hashing the whole copy costs about as much as a daily publication, so it runs only when the copy's
file changed since its publication: the publisher keeps the file's inode, size and times beside it
(``.<copy>.published``); the change time cannot be set back by a user, so a write always shows.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import duckdb

from pipelines.warehouse import day_filter

FINGERPRINTS = "meta.published_fingerprints"
FILES = "meta.published_files"
# The tables a publication writes into the copy's meta schema (sql/meta/publication.sql).
META_TABLES = ("meta.publication", "meta.published_partitions", FILES, FINGERPRINTS)


def record_fingerprints(con: duckdb.DuckDBPyConnection, database: str, tables: dict[str, str | None],
                        days: list[date] | None = None) -> None:
    """Fingerprint `tables` (name -> day column or None) of the attached `database` into its meta.

    With `days`, only those days of the day-grained tables are fingerprinted again (the others
    keep their recorded fingerprints: they were not touched); the rest are fingerprinted whole.
    """
    for table, day_column in tables.items():
        where = day_filter("day", days) if day_column and days is not None else "true"
        con.execute(f"DELETE FROM {database}.{FINGERPRINTS} WHERE table_name = ? AND {where}", [table])
        rows = day_filter(day_column, days) if day_column and days is not None else "true"
        con.execute(f"INSERT INTO {database}.{FINGERPRINTS} {_fingerprints_sql(database, table, day_column, rows)}")


def altered_tables(con: duckdb.DuckDBPyConnection, database: str, expected: dict[str, str | None]) -> set[str]:
    """The tables of `database` that differ from their recorded fingerprints (which it must hold),
    are missing, or should not be there at all (anything but `expected`, name -> day column, and the
    meta tables)."""
    present = {name for (name,) in con.execute(
        "SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE database_name = ? "
        "UNION ALL SELECT schema_name || '.' || view_name FROM duckdb_views() WHERE database_name = ? AND NOT internal",
        [database, database]).fetchall()}
    wanted = set(expected) | {table for table in META_TABLES if table != FINGERPRINTS}
    current = " UNION ALL ".join(
        _fingerprints_sql(database, table, expected.get(table), "true") for table in sorted(wanted & present))
    recorded = f"SELECT table_name, day, row_count, checksum FROM {database}.{FINGERPRINTS}"
    differing = {name for (name,) in con.execute(
        f"WITH current AS ({current}), recorded AS ({recorded}) SELECT DISTINCT table_name FROM "
        "((FROM current EXCEPT ALL FROM recorded) UNION ALL (FROM recorded EXCEPT ALL FROM current))").fetchall()}
    return differing | (wanted ^ (present - {FINGERPRINTS}))


def _fingerprints_sql(database: str, table: str, day_column: str | None, where: str) -> str:
    """(table_name, day, row_count, checksum) of a table, per UTC day when it has a day column.
    (A whole table always has its row, even when empty; a day only when it has rows.)"""
    schema, name = table.split(".", 1)
    source = f'{database}.{schema}."{name}" AS published_row'
    fingerprint = "count(*) AS row_count, coalesce(sum(hash(published_row)), 0)::HUGEINT AS checksum"
    if day_column is None:
        return f"SELECT '{table}' AS table_name, NULL::DATE AS day, {fingerprint} FROM {source} WHERE {where}"
    return (f"SELECT '{table}' AS table_name, CAST(\"{day_column}\" AS DATE) AS day, {fingerprint} "
            f"FROM {source} WHERE {where} GROUP BY ALL")


def record_files(con: duckdb.DuckDBPyConnection, database: str, export: Path) -> None:
    """Record the size and modification time of every file of the export (paths relative to it)."""
    con.execute(f"DELETE FROM {database}.{FILES}")
    files = [(file.relative_to(export).as_posix(), *_size_and_time(file)) for file in sorted(export.rglob("*"))
             if file.is_file()]
    if files:
        con.executemany(f"INSERT INTO {database}.{FILES} VALUES (?, ?, ?)", files)


def intact_months(con: duckdb.DuckDBPyConnection, database: str,
                  export: Path) -> tuple[list[str], set[tuple[str, str]]]:
    """The recorded files of the export's intact month folders, and the (table folder, month) pairs
    with a recorded file now missing or changed (or the whole folder gone)."""
    files: dict[tuple[str, str], list[tuple[str, bool]]] = {}
    for path, size, modified_ns in con.execute(f"SELECT path, size, modified_ns FROM {database}.{FILES}").fetchall():
        folder, _, rest = path.rpartition("/export_month=")
        if folder:
            intact = (export / path).is_file() and _size_and_time(export / path) == (size, modified_ns)
            files.setdefault((folder, rest.split("/", 1)[0]), []).append((path, intact))
    damaged = {month for month, month_files in files.items() if not all(intact for _, intact in month_files)}
    return [path for month, month_files in files.items() if month not in damaged for path, _ in month_files], damaged


def sign(serving_path: Path) -> None:
    """Keep the published copy's file identity beside it, for `unchanged_since_signed`."""
    _signature_path(serving_path).write_text(_signature(serving_path))


def unchanged_since_signed(serving_path: Path) -> bool:
    """Whether the copy is the very file the last publication wrote, untouched since."""
    try:
        return _signature_path(serving_path).read_text() == _signature(serving_path)
    except OSError:
        return False


def _signature(path: Path) -> str:
    status = path.stat()
    return f"{status.st_dev} {status.st_ino} {status.st_size} {status.st_mtime_ns} {status.st_ctime_ns}"


def _signature_path(serving_path: Path) -> Path:
    return serving_path.with_name(f".{serving_path.name}.published")


def _size_and_time(file: Path) -> tuple[int, int]:
    status = os.stat(file)
    return status.st_size, status.st_mtime_ns
