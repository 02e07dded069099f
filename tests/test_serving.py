"""Readers of the serving copy never block a sync, never fail on a lock, and always see one
complete publication, whichever client they use and whether they reconnect or hold on."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy.pool import NullPool

from admin_api_simulator import DEMO_ADMIN_KEY, Faults
from pipelines.ingest import WindowLoadError
from pipelines.sync import SyncRange, run_sync
from tests.faults.helpers import cli_command, cli_env, settings_for, sync_args

# One read: the row count of a mart and three totals that every complete publication agrees on.
STATE_SQL = """
SELECT (SELECT count(*) FROM marts.user_daily_cost)::VARCHAR,
       (SELECT sum(cost_usd) FROM marts.user_daily_cost)::VARCHAR,
       (SELECT sum(cost_usd) FROM marts.workspace_daily_cost)::VARCHAR,
       (SELECT sum(amount_usd) FROM raw.cost_report)::VARCHAR
"""
# A reader in another process with the duckdb client: one read per line on stdin, one JSON line
# out. "reconnect" opens a new read-only connection per read; "hold" keeps one open throughout.
OTHER_PROCESS_READER = """
import duckdb, json, sys
mode, serving, sql = sys.argv[1:4]
held = duckdb.connect(serving, read_only=True) if mode == "hold" else None
for _ in sys.stdin:
    try:
        with held.cursor() if held else duckdb.connect(serving, read_only=True) as con:
            row = con.execute(sql).fetchone()
    except Exception as exc:
        row = {"error": str(exc)}
    print(json.dumps(row), flush=True)
"""


class OtherProcessReader:
    def __init__(self, mode: str, serving):
        self.process = subprocess.Popen(
            [sys.executable, "-c", OTHER_PROCESS_READER, mode, str(serving), STATE_SQL],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )

    def read(self):
        self.process.stdin.write("\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


def consistent_state(row) -> tuple[int, Decimal]:
    """(rows, total) of one read, after checking that users, workspaces and the bill agree."""
    assert not isinstance(row, dict), row  # a lock error or any other failure to read
    rows, users, workspaces, bill = row
    assert Decimal(users) == Decimal(workspaces) == Decimal(bill), row
    return int(rows), Decimal(users)


def test_readers_see_whole_publications_and_never_block_a_running_sync(simulator, tmp_path, monkeypatch):
    warehouse, serving = tmp_path / "warehouse.duckdb", tmp_path / "serving.duckdb"
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", DEMO_ADMIN_KEY)
    run_sync(settings_for(simulator, warehouse), SyncRange(date(2026, 11, 1), date(2026, 11, 2)))  # publication 1
    # SQLAlchemy + duckdb-engine as Superset uses it, a new connection per read.
    engine = sqlalchemy.create_engine(f"duckdb:///{serving}", connect_args={"read_only": True}, poolclass=NullPool)

    def read_with_sqlalchemy() -> tuple[int, Decimal]:
        with engine.connect() as connection:
            return consistent_state(connection.execute(sqlalchemy.text(STATE_SQL)).one())

    before = read_with_sqlalchemy()
    holder, reconnecting = OtherProcessReader("hold", serving), OtherProcessReader("reconnect", serving)
    held_before = consistent_state(holder.read())
    # A sync of more days: it writes the warehouse for several seconds, then publishes.
    sync = subprocess.Popen(cli_command(*sync_args("2026-11-01", "2026-11-08")), env=cli_env(simulator, warehouse),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started, seen = time.monotonic(), []
    try:
        while time.monotonic() - started < 120:
            seen += [read_with_sqlalchemy(), consistent_state(reconnecting.read())]
            try:
                sync.wait(timeout=0.1)  # paces the reads like a dashboard's refreshes, ends with the sync
                break
            except subprocess.TimeoutExpired:
                pass
        sync_seconds = time.monotonic() - started
        _, sync_errors = sync.communicate(timeout=60)
        after, after_elsewhere, held_after = read_with_sqlalchemy(), consistent_state(reconnecting.read()), consistent_state(holder.read())
    finally:
        sync.kill()
        holder.close()
        reconnecting.close()

    assert sync.returncode == 0, sync_errors  # readers holding the serving copy never block the writer
    assert sync_seconds > 3 and len(seen) > 20, (sync_seconds, len(seen))
    assert after != before and after_elsewhere == after  # a new connection sees the new publication
    assert set(seen) <= {before, after}  # every read saw one whole publication, never a mix
    assert held_after == held_before == before  # an open connection keeps its snapshot across the swap


def test_a_failed_run_publishes_nothing(simulator, tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", DEMO_ADMIN_KEY)
    settings = settings_for(simulator, tmp_path / "warehouse.duckdb")
    run_sync(settings, SyncRange(date(2026, 11, 1), date(2026, 11, 2)))
    serving = Path(settings.serving_path)
    published = serving.stat()
    simulator.faults = Faults(malformed="truncated_json", match_path="cost_report")
    with pytest.raises(WindowLoadError):
        run_sync(settings, SyncRange(date(2026, 11, 1), date(2026, 11, 5)))  # usage loads, the cost report fails
    assert (serving.stat().st_ino, serving.stat().st_mtime_ns) == (published.st_ino, published.st_mtime_ns)
