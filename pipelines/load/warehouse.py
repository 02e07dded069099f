"""The DuckDB warehouse file: opening it safely, one writer at a time, and creating the schema from `sql/`."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; DuckDB's own file lock still keeps writers apart
    fcntl = None  # type: ignore[assignment]

REPO_SQL_DIR = Path(__file__).resolve().parents[2] / "sql"
PACKAGED_SQL_DIR = Path(__file__).resolve().parents[1] / "sql"


class WarehouseBusyError(RuntimeError):
    """Another process holds the DuckDB file (DuckDB allows one writer process), or another sync
    holds the writer lock."""


# DuckDB's own memory ceiling per connection (its default, 80% of the machine's RAM, lets a year's
# mart build outgrow the sync's memory budget); above it, DuckDB spills to `<warehouse>.tmp/`.
# The rest of a sync's memory is Python, Dagster and the pages being parsed. Figures for this and
# the two settings below: README, Performance, "Why these settings".
DUCKDB_MEMORY_LIMIT = "512MB"
# The report loader writes one request window at a time and needs far less; under this cap its RSS stays
# flat however long the range (under 512MB, DuckDB's allocator kept what the windows' writes freed).
LOADER_MEMORY_LIMIT = "128MB"
# The loader's WAL size that triggers a checkpoint (DuckDB's default is 16 MiB): fewer checkpoints make
# up the time the lower cap costs. A crash replays at most this much WAL when the warehouse is next opened.
LOADER_CHECKPOINT_THRESHOLD = "64MB"

# How long a step waits for another sync writing the same warehouse before it gives up.
WRITER_LOCK_TIMEOUT_SECONDS = 600.0
_held_writer_locks: dict[Path, int] = {}  # lock file -> nesting depth, in this process
_held_writer_locks_guard = threading.Lock()


def sql_dir() -> Path:
    """`sql/` beside the package in a checkout, or shipped inside the wheel."""
    return REPO_SQL_DIR if REPO_SQL_DIR.is_dir() else PACKAGED_SQL_DIR


def read_sql(relative_path: str) -> str:
    return (sql_dir() / relative_path).read_text()


@contextmanager
def connect(
    path: str | Path,
    *,
    read_only: bool = False,
    lock_timeout_seconds: float = 120.0,
    memory_limit: str | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse in UTC, waiting (bounded) while another process holds its lock.

    DuckDB's memory is capped at `memory_limit` (default DUCKDB_MEMORY_LIMIT); bigger work spills
    to disk. The connection is always closed, even on error, so a failed step never keeps the file
    locked.
    """
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    config = {"memory_limit": memory_limit or DUCKDB_MEMORY_LIMIT}
    con = _open_with_lock_retry(path, read_only, lock_timeout_seconds, config)
    try:
        con.execute("SET TimeZone = 'UTC'")
        yield con
    finally:
        con.close()


def writer_lock_path(warehouse_path: str | Path) -> Path:
    """The lock file beside the warehouse: `warehouse.duckdb` -> `warehouse.duckdb.lock`."""
    path = Path(warehouse_path)
    return path.with_name(path.name + ".lock")


@contextmanager
def writer_lock(
    warehouse_path: str | Path,
    *,
    timeout_seconds: float | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Hold the warehouse's exclusive writer lock: one sync at a time writes a warehouse.

    DuckDB's own lock only covers one open connection, and a sync opens several in turn (entity
    snapshots, each report's ingest, the marts, the publication), so two syncs would otherwise
    interleave them. This advisory lock (flock on
    `<warehouse>.lock`) is held for a whole sync, or a whole Dagster step; the kernel releases it
    when the holder exits, even on SIGKILL, so a crash never leaves a stale lock. Re-entrant within
    a process (the CLI holds it around the run, the steps inside take it again). Waits at most
    `timeout_seconds` (default WRITER_LOCK_TIMEOUT_SECONDS; 0 = do not wait), calling
    `on_wait(holder)` once when it has to wait, then raises WarehouseBusyError naming the holder.
    """
    lock_path = writer_lock_path(warehouse_path).resolve()
    with _held_writer_locks_guard:
        depth = _held_writer_locks.get(lock_path, 0)
        if depth:
            _held_writer_locks[lock_path] = depth + 1
    if depth:
        try:
            yield
        finally:
            with _held_writer_locks_guard:
                _held_writer_locks[lock_path] -= 1
        return
    if fcntl is None:
        yield
        return
    timeout_seconds = WRITER_LOCK_TIMEOUT_SECONDS if timeout_seconds is None else timeout_seconds
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _acquire(fd, lock_path, timeout_seconds, on_wait)
        os.ftruncate(fd, 0)
        os.pwrite(fd, _holder_description().encode(), 0)
        with _held_writer_locks_guard:
            _held_writer_locks[lock_path] = 1
        try:
            yield
        finally:
            with _held_writer_locks_guard:
                del _held_writer_locks[lock_path]
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _acquire(fd: int, lock_path: Path, timeout_seconds: float, on_wait: Callable[[str], None] | None) -> None:
    deadline = time.monotonic() + timeout_seconds
    wait, announced = 0.05, False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        holder = _read_holder(lock_path)
        if time.monotonic() + wait > deadline:
            waited = f"waited {timeout_seconds:.0f} s; " if timeout_seconds > 0 else ""
            raise WarehouseBusyError(
                f"another sync ({holder}) is writing the warehouse {lock_path.with_suffix('')}; {waited}"
                f"let it finish and run this one again (or stop that process)"
            )
        if not announced and on_wait is not None:
            on_wait(holder)
            announced = True
        time.sleep(wait)
        wait = min(wait * 2, 1.0)


def _holder_description() -> str:
    command = " ".join([os.path.basename(sys.argv[0]), *sys.argv[1:2]]) if sys.argv and sys.argv[0] else ""
    return f"pid {os.getpid()}, started {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC, {command}".strip(", ")


def _read_holder(lock_path: Path) -> str:
    try:
        text = lock_path.read_text(errors="replace").strip()
    except OSError:
        text = ""
    return text or "pid unknown"


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every raw table that does not exist yet (the DDL files are idempotent)."""
    for ddl_file in sorted((sql_dir() / "raw").glob("*.sql")):
        con.execute(ddl_file.read_text())


def _open_with_lock_retry(
    path: Path, read_only: bool, timeout_seconds: float, config: dict[str, str]
) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + timeout_seconds
    wait = 0.05
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=config)
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
