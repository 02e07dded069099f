"""The DuckDB warehouse file: the one place that opens it, runs a transaction, replaces days, reads
SQL from `sql/` and keeps to one writer at a time.

Every step that writes (report loads, entity snapshots, the marts build, the publication) goes
through here, so "UTC, capped memory, bounded wait for a lock, all or nothing" is written once.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import duckdb

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; DuckDB's own file lock still keeps writers apart
    fcntl = None  # type: ignore[assignment]

REPO_SQL_DIR = Path(__file__).resolve().parents[1] / "sql"
PACKAGED_SQL_DIR = Path(__file__).resolve().parent / "sql"
T = TypeVar("T")


class WarehouseBusyError(RuntimeError):
    """Another process holds the DuckDB file (DuckDB allows one writer process), or another sync
    holds the writer lock."""


class UnsafePathError(ValueError):
    """A path would make the pipeline follow a symlink it must not, or write over one of its own
    files (the warehouse, the serving copy); the message says which and what to do."""
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
    config: Mapping[str, str] | None = None,
    sandboxed: bool = False,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open a DuckDB file (or ":memory:") in UTC, waiting (bounded) while another process holds its lock.

    DuckDB's memory is capped at `memory_limit` (default DUCKDB_MEMORY_LIMIT); bigger work spills
    to disk. The connection is always closed, even on error, so a failed step never keeps the file
    locked. `sandboxed` is for SQL written by someone else: the connection then reaches no file but
    its own (no ATTACH, COPY, file readers, extension installs) and no setting can be changed back.
    """
    in_memory = str(path) == ":memory:"
    if not read_only and not in_memory:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    options = {"memory_limit": memory_limit or DUCKDB_MEMORY_LIMIT, **(config or {})}
    con = retry_while_busy(
        lambda: duckdb.connect(str(path), read_only=read_only, config=options),
        timeout_seconds=lock_timeout_seconds,
        busy=lambda exc: isinstance(exc, duckdb.IOException) and "could not set lock" in str(exc).lower(),
        give_up=lambda: WarehouseBusyError(
            f"the warehouse {path} is locked by another process (a sync, `dagster dev`, or a tool "
            f"holding it open) and stayed locked for {lock_timeout_seconds:.0f} s; close that process or "
            f"point analysts and BI tools at the serving copy, then retry"
        ),
    )
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")  # a long step must not draw bars into the run's logs
        if sandboxed:  # after the settings above: the time zone loads an extension, a locked connection can't
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
        yield con
    finally:
        con.close()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All or nothing: commit when the block ends, roll back on any error (even KeyboardInterrupt)."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def replace_rows(
    con: duckdb.DuckDBPyConnection, table: str, where: str, select: str, params: Mapping[str, object] | None = None
) -> None:
    """Delete the rows of `table` matching `where`, then insert the rows of `select` by column name.

    Run it inside `transaction()`: a re-run then never duplicates rows, and a failure keeps the old ones.
    """
    for statement in (f"DELETE FROM {table} WHERE {where}", f"INSERT INTO {table} BY NAME {select}"):
        con.execute(statement, _parameters_of(statement, params or {}))


def _parameters_of(statement: str, params: Mapping[str, object]) -> dict[str, object]:
    """The `$name` parameters the statement uses: DuckDB refuses named parameters it does not use."""
    return {name: params[name] for name in set(re.findall(r"\$(\w+)", statement))}


def replace_days(con: duckdb.DuckDBPyConnection, table: str, day_column: str, days: list[date], source: str) -> None:
    """Replace the rows of `table` on the UTC `days` by the same days' rows of `source` (a table or a query)."""
    if days:
        where = day_filter(day_column, days)
        replace_rows(con, table, where, f"SELECT * FROM {source} WHERE {where}")


def day_filter(column: str, days: list[date]) -> str:
    """An SQL condition: ``column`` (a DATE or a TIMESTAMPTZ read in UTC) falls on one of ``days``.
    The range lets DuckDB skip row groups by their min/max; the list keeps it exact."""
    if not days:
        return "false"
    after_last = max(days) + timedelta(days=1)
    return (f"{column} >= DATE '{min(days).isoformat()}' AND {column} < DATE '{after_last.isoformat()}' "
            f"AND CAST({column} AS DATE) IN {days_sql(days)}")


def days_sql(days: list[date]) -> str:
    """The days as an SQL list of DATE literals, for ``IN (...)`` filters DuckDB can push down."""
    return "(" + ", ".join(f"DATE '{day.isoformat()}'" for day in days) + ")" if days else "(NULL)"


def retry_while_busy(
    attempt: Callable[[], T],
    *,
    timeout_seconds: float,
    busy: Callable[[Exception], bool],
    give_up: Callable[[], Exception],
    on_first_wait: Callable[[], None] | None = None,
) -> T:
    """`attempt()` until it does not fail with a `busy` error, backing off from 50 ms to 1 s; after
    `timeout_seconds` raise `give_up()`. The one wait-and-retry loop for locks held by others."""
    deadline = time.monotonic() + timeout_seconds
    wait = 0.05
    while True:
        try:
            return attempt()
        except Exception as exc:
            if not busy(exc):
                raise
            if time.monotonic() + wait > deadline:
                raise give_up() from exc
        if on_first_wait is not None:
            on_first_wait()
            on_first_wait = None
        time.sleep(wait)
        wait = min(wait * 2, 1.0)


def restrict_new_files(share_with_group: bool = False) -> None:
    """Make every file and folder this process creates from now on (warehouse, serving copy, Parquet
    export, locks, reports: user emails and per-user cost) private to its owner, or with
    `share_with_group` readable by the owner's group too. Files that exist keep their mode."""
    os.umask(0o027 if share_with_group else 0o077)


def refuse_unsafe_paths(files: Mapping[str, str | Path], parquet_dir: str | Path | None = None) -> None:
    """Refuse, before any work, paths that would make one file overwrite another: each of `files`
    (what sets it -> path) must not be a directory nor the same file as another (a DuckDB file
    counting with its `.wal` and `.lock`, however it is reached: a symlink, `..`), and `parquet_dir`,
    if it exists, must be the symlink a publication switches, not someone's folder or file."""
    seen: dict[Path, str] = {}
    for name, path in files.items():
        if Path(path).is_dir():
            raise UnsafePathError(f"{name} {path} is a directory; point it at a file")
        real = Path(path).resolve()
        for family in (real, real.with_name(real.name + ".wal"), real.with_name(real.name + ".lock")):
            if family in seen and seen[family] != name:
                raise UnsafePathError(
                    f"{name} {path} is the same file as {seen[family]} ({real}): one would overwrite the "
                    "other; point them at different files")
            seen[family] = name
    if parquet_dir is not None and Path(parquet_dir).exists() and not Path(parquet_dir).is_symlink():
        raise UnsafePathError(
            f"USAGE_PIPELINE_PARQUET_DIR {parquet_dir} exists and is not the symlink a publication switches; "
            "move it away or point the setting elsewhere")


def writer_lock_path(warehouse_path: str | Path) -> Path:
    """The lock file beside the real warehouse file: `warehouse.duckdb` -> `warehouse.duckdb.lock`.
    Beside the real file, so two paths to one warehouse (a symlink, `..`) share one lock."""
    path = Path(warehouse_path).resolve()
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
    interleave them. This advisory lock (flock on `<warehouse>.lock`) is held for a whole sync, or a
    whole Dagster step; the kernel releases it when the holder exits, even on SIGKILL, so a crash
    never leaves a stale lock. Re-entrant within a process (a sync holds it around the run, the steps
    inside take it again). Waits at most `timeout_seconds` (default WRITER_LOCK_TIMEOUT_SECONDS; 0 = do
    not wait), calling `on_wait(holder)` once when it has to wait, then raises WarehouseBusyError
    naming the holder. A lock file that is a symlink is refused, never followed (writing the holder
    into it would overwrite whatever it points at).
    """
    lock_path = writer_lock_path(warehouse_path)
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
    fd = _open_lock_file(lock_path)
    try:
        retry_while_busy(
            lambda: fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB),
            timeout_seconds=timeout_seconds,
            busy=lambda exc: isinstance(exc, BlockingIOError),
            give_up=lambda: WarehouseBusyError(
                f"another sync ({_read_holder(fd)}) is writing the warehouse {lock_path.with_suffix('')}; "
                + (f"waited {timeout_seconds:.0f} s; " if timeout_seconds > 0 else "")
                + "let it finish and run this one again (or stop that process)"
            ),
            on_first_wait=(lambda: on_wait(_read_holder(fd))) if on_wait else None,
        )
        holder = _holder_description().encode()
        os.pwrite(fd, holder, 0)  # then cut to length: a reader never sees a mix of two holders
        os.ftruncate(fd, len(holder))
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


def _holder_description() -> str:
    command = " ".join([os.path.basename(sys.argv[0]), *sys.argv[1:2]]) if sys.argv and sys.argv[0] else ""
    return f"pid {os.getpid()}, started {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC, {command}".strip(", ")


def _open_lock_file(lock_path: Path) -> int:
    try:
        return os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        if lock_path.is_symlink():
            raise UnsafePathError(
                f"the writer lock {lock_path} is a symbolic link; the pipeline never follows one (it would "
                "overwrite what it points at): remove the link and run again") from None
        raise


def _read_holder(fd: int) -> str:
    """Who holds the lock, as the holder wrote it into the lock file. It writes right after it takes
    the lock, so a read in that instant finds the file empty: read again, for a second at most."""
    deadline = time.monotonic() + 1.0
    while True:
        text = os.pread(fd, 4096, 0).decode(errors="replace").strip()
        if text or time.monotonic() > deadline:
            return text or "pid unknown"
        time.sleep(0.01)
