"""Two syncs of one warehouse at once: the second waits for the first (or, told not to wait, exits
with a clear message naming it), and the warehouse ends exactly as after one clean sync.

The guard is the warehouse's writer lock (`<warehouse>.lock`), held by the CLI for the whole sync and
by every ingest step, so a Dagster run and a CLI sync exclude each other too.
"""

from __future__ import annotations

import re
import subprocess
import time
from datetime import UTC, date, datetime

import duckdb
import pytest

from admin_api_simulator import DEMO_ADMIN_KEY, Faults, Simulator
from pipelines import warehouse as warehouse_module
from pipelines.warehouse import WarehouseBusyError, writer_lock_path
from pipelines.sync import SyncRange, run_sync
from tests.faults.helpers import LineReader, cli_command, cli_env, compare, raw_contents, settings_for, sync_args

pytestmark = pytest.mark.faults

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
FIRST, LAST = date(2026, 11, 3), date(2026, 11, 5)
SLOW = Faults(rate=1.0, kinds=("slow",), slow_seconds=0.05)  # syncs long enough to overlap


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    path = tmp_path_factory.mktemp("concurrency") / "clean.duckdb"
    with pytest.MonkeyPatch.context() as env, Simulator(seed=7, now=NOW) as simulator:
        env.setenv("ANTHROPIC_ADMIN_KEY", DEMO_ADMIN_KEY)
        run_sync(settings_for(simulator, path), SyncRange(FIRST, LAST))
    return raw_contents(path)


def start(simulator, warehouse, *more) -> tuple[subprocess.Popen, LineReader]:
    process = subprocess.Popen(cli_command(*sync_args(FIRST, LAST, *more)), env=cli_env(simulator, warehouse),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return process, LineReader(process)


def finish(process: subprocess.Popen, reader: LineReader) -> str:
    process.wait(timeout=180)
    return reader.join()


def test_two_syncs_started_at_once_run_one_after_the_other(tmp_path, clean, figures):
    warehouse = tmp_path / "w.duckdb"
    with Simulator(seed=7, now=NOW, faults=SLOW) as first_api, Simulator(seed=7, now=NOW, faults=SLOW) as second_api:
        runs = [start(first_api, warehouse), start(second_api, warehouse)]
        stderrs = [finish(*run) for run in runs]
        figures.add_requests(first_api.stats, faults=False)
        figures.add_requests(second_api.stats, faults=False)
    assert [process.returncode for process, _ in runs] == [0, 0], stderrs
    waited = [index for index, text in enumerate(stderrs) if "waiting up to" in text]
    assert len(waited) == 1, stderrs  # exactly one of them found the other writing, and said so
    holder = int(re.search(r"another sync \(pid (\d+)", stderrs[waited[0]]).group(1))
    assert holder == runs[1 - waited[0]][0].pid  # ... and named the other one

    comparison = compare(clean, raw_contents(warehouse))
    figures.rows_compared += comparison.rows_compared
    figures.mismatches += comparison.mismatches
    assert comparison.mismatches == 0, comparison.differing_tables
    with duckdb.connect(str(warehouse), read_only=True) as con:
        # Every partition was loaded twice, and the two syncs' loads never interleaved.
        loads = con.execute(
            "SELECT table_name, partition_date, count(*) FROM raw.load_log GROUP BY ALL HAVING count(*) <> 2"
        ).fetchall()
        spans = con.execute(
            "SELECT run_id, min(loaded_at), max(loaded_at) FROM raw.load_log GROUP BY run_id ORDER BY 2"
        ).fetchall()
    assert loads == []
    assert len(spans) == 2  # one report run per sync
    assert spans[0][2] < spans[1][1]


def test_a_second_sync_told_not_to_wait_exits_at_once_naming_the_first(tmp_path, clean, figures):
    warehouse = tmp_path / "w.duckdb"
    with Simulator(seed=7, now=NOW, faults=SLOW) as first_api, Simulator(seed=7, now=NOW, faults=SLOW) as second_api:
        runs = [start(first_api, warehouse, "--wait", "0"), start(second_api, warehouse, "--wait", "0")]
        stderrs = [finish(*run) for run in runs]
        apis = [first_api, second_api]
        figures.add_requests(first_api.stats, faults=False)
        figures.add_requests(second_api.stats, faults=False)
    codes = [process.returncode for process, _ in runs]
    assert sorted(codes) == [0, 1], stderrs
    winner, loser = (0, 1) if codes[0] == 0 else (1, 0)
    [error] = [line for line in stderrs[loser].splitlines() if line.startswith("error: ")]
    assert f"another sync (pid {runs[winner][0].pid}," in error and "run this one again" in error
    assert "Traceback" not in stderrs[loser]
    assert apis[loser].stats.total == 0  # it gave up before sending anything
    comparison = compare(clean, raw_contents(warehouse))
    figures.rows_compared += comparison.rows_compared
    figures.mismatches += comparison.mismatches
    assert comparison.mismatches == 0, comparison.differing_tables


def test_a_dagster_run_does_not_write_while_a_cli_sync_holds_the_warehouse(tmp_path, clean, figures, monkeypatch):
    warehouse = tmp_path / "w.duckdb"
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", DEMO_ADMIN_KEY)
    monkeypatch.setattr(warehouse_module, "WRITER_LOCK_TIMEOUT_SECONDS", 0.5)
    with Simulator(seed=7, now=NOW, faults=SLOW) as cli_api, Simulator(seed=7, now=NOW) as dagster_api:
        process, reader = start(cli_api, warehouse)
        deadline = time.monotonic() + 60
        lock = writer_lock_path(warehouse)
        while not (lock.exists() and f"pid {process.pid}," in lock.read_text()):
            assert process.poll() is None and time.monotonic() < deadline, reader.join()
            time.sleep(0.02)
        with pytest.raises(WarehouseBusyError, match=rf"another sync \(pid {process.pid},"):
            run_sync(settings_for(dagster_api, warehouse), SyncRange(FIRST, LAST))
        assert dagster_api.stats.total == 0  # the entity step gave up before fetching
        stderr = finish(process, reader)
        figures.add_requests(cli_api.stats, faults=False)
        figures.add_requests(dagster_api.stats, faults=False)
    assert process.returncode == 0, stderr
    comparison = compare(clean, raw_contents(warehouse))
    figures.rows_compared += comparison.rows_compared
    figures.mismatches += comparison.mismatches
    assert comparison.mismatches == 0, comparison.differing_tables
