"""SIGKILL during a sync, then a normal re-run, gives exactly the tables of a clean run."""

from __future__ import annotations

import os
import random
import selectors
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from admin_api_simulator import DEMO_ADMIN_KEY
from pipelines.settings import Settings
from pipelines.sync import SyncRange, run_sync
from tests.warehouse_helpers import REPORT_TABLES, table_contents

FIRST, LAST = date(2026, 10, 20), date(2026, 11, 9)


def settings_for(simulator, path: Path) -> Settings:
    return Settings.from_mapping(
        {
            "base_url": simulator.base_url,
            "warehouse_path": str(path),
            "start_date": "2026-01-01",
            "requests_per_minute": 0,
            "source": "legacy",
        }
    )


def start_sync_process(simulator, path: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "WAREHOUSE_", "USAGE_PIPELINE_"))}
    env |= {
        "ANTHROPIC_ADMIN_KEY": DEMO_ADMIN_KEY,
        "ANTHROPIC_BASE_URL": simulator.base_url,
        "WAREHOUSE_PATH": str(path),
        "USAGE_PIPELINE_START_DATE": "2026-01-01",
        "USAGE_PIPELINE_REQUESTS_PER_MINUTE": "0",
        "USAGE_PIPELINE_SOURCE": "legacy",
    }
    command = [sys.executable, "-m", "pipelines.cli", "sync", "--verbose", "--start", FIRST.isoformat(), "--end", LAST.isoformat()]
    return subprocess.Popen(command, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)


def kill_after_progress_lines(process: subprocess.Popen, lines: int, extra_delay: float, deadline_s: float = 120) -> None:
    """SIGKILL the sync once it has committed `lines` windows (plus a delay into the next one)."""
    selector = selectors.DefaultSelector()
    selector.register(process.stderr, selectors.EVENT_READ)
    seen, deadline = 0, time.monotonic() + deadline_s
    while seen < lines and process.poll() is None and time.monotonic() < deadline:
        if selector.select(timeout=1):
            line = process.stderr.readline()
            seen += " rows, " in line
    time.sleep(extra_delay)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def test_sigkill_at_random_points_then_rerun_equals_a_clean_run(simulator, tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", DEMO_ADMIN_KEY)
    clean = tmp_path / "clean.duckdb"
    run_sync(settings_for(simulator, clean), SyncRange(FIRST, LAST))
    expected = table_contents(clean, REPORT_TABLES)

    crashed = tmp_path / "crashed.duckdb"
    rng = random.Random(20261125)
    simulator.faults.slow_seconds = 0.05
    for attempt in range(3):
        process = start_sync_process(simulator, crashed)
        kill_after_progress_lines(process, lines=rng.randint(0, 4), extra_delay=rng.uniform(0, 0.3))
        assert process.returncode == -signal.SIGKILL, f"attempt {attempt}: the sync ended before the kill"
    run_sync(settings_for(simulator, crashed), SyncRange(FIRST, LAST))
    assert table_contents(crashed, REPORT_TABLES) == expected
