"""The DuckDB warehouse file: opening it safely and creating the schema from `sql/`."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

REPO_SQL_DIR = Path(__file__).resolve().parents[2] / "sql"
PACKAGED_SQL_DIR = Path(__file__).resolve().parents[1] / "sql"


class WarehouseBusyError(RuntimeError):
    """Another process holds the DuckDB file (DuckDB allows one writer process)."""


def sql_dir() -> Path:
    """`sql/` beside the package in a checkout, or shipped inside the wheel."""
    return REPO_SQL_DIR if REPO_SQL_DIR.is_dir() else PACKAGED_SQL_DIR


def read_sql(relative_path: str) -> str:
    return (sql_dir() / relative_path).read_text()


@contextmanager
def connect(path: str | Path, *, read_only: bool = False, lock_timeout_seconds: float = 120.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse in UTC, waiting (bounded) while another process holds its lock.

    The connection is always closed, even on error, so a failed step never keeps the file locked.
    """
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = _open_with_lock_retry(path, read_only, lock_timeout_seconds)
    try:
        con.execute("SET TimeZone = 'UTC'")
        yield con
    finally:
        con.close()


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every raw table that does not exist yet (the DDL files are idempotent)."""
    for ddl_file in sorted((sql_dir() / "raw").glob("*.sql")):
        con.execute(ddl_file.read_text())


def _open_with_lock_retry(path: Path, read_only: bool, timeout_seconds: float) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + timeout_seconds
    wait = 0.05
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            if time.monotonic() + wait > deadline:
                raise WarehouseBusyError(
                    f"the warehouse {path} is locked by another process (a sync, `dagster dev`, or a tool "
                    f"holding it open) and stayed locked for {timeout_seconds:.0f} s; close that process or "
                    f"point analysts and BI tools at the serving copy, then retry"
                ) from exc
            time.sleep(wait)
            wait = min(wait * 2, 2.0)
