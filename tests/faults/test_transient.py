"""Transient faults on ~30% of requests: the sync completes and the warehouse equals a fault-free one.

The faults are the simulator's transient kinds: a 429 with `retry-after: 1`, a 500, a 529, a dropped
connection, and a slow answer that outlasts the client's read timeout (so it is a timeout, retried).
They are drawn from a seeded generator per request, retries included, so a run is reproducible.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime

import pytest

from admin_api_simulator import DEMO_ADMIN_KEY, TRANSIENT_KINDS, Faults, Simulator
from pipelines.sync import SyncRange, run_sync
from tests.faults.helpers import cli_env, compare, raw_contents, run_cli, settings_for, sync_args

pytestmark = pytest.mark.faults

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
MONTH = (date(2026, 10, 1), date(2026, 10, 31))
FAULT_RATE = 0.3
TIMEOUT_SECONDS = 2  # the client's read timeout; a "slow" answer takes longer, so it times out


def transient_faults(seed: int = 11) -> Faults:
    """~30% of requests: 429 (retry-after 1), 500, 529, dropped connection, answer slower than the timeout."""
    return Faults(seed=seed, rate=FAULT_RATE, kinds=TRANSIENT_KINDS, retry_after=1, slow_seconds=TIMEOUT_SECONDS + 0.5)


@pytest.fixture
def clean_month(tmp_path_factory, monkeypatch):
    """The raw tables of a fault-free sync of the month, and how many requests it took."""
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", DEMO_ADMIN_KEY)
    with Simulator(seed=7, now=NOW) as simulator:
        path = tmp_path_factory.mktemp("clean") / "clean.duckdb"
        run_sync(settings_for(simulator, path), SyncRange(*MONTH))
        return raw_contents(path), simulator.stats.total


def test_a_month_with_30_percent_transient_faults_equals_a_fault_free_sync(tmp_path, clean_month, figures):
    expected, clean_requests = clean_month
    with Simulator(seed=7, now=NOW, faults=transient_faults()) as simulator:
        warehouse = tmp_path / "faulty.duckdb"
        started = time.monotonic()
        result = run_cli(
            *sync_args(*MONTH),
            env=cli_env(simulator, warehouse, USAGE_PIPELINE_TIMEOUT_SECONDS=str(TIMEOUT_SECONDS)),
        )
        elapsed = time.monotonic() - started
        stats = simulator.stats
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    comparison = compare(expected, raw_contents(warehouse))
    figures.add_requests(stats)
    figures.rows_compared += comparison.rows_compared
    figures.mismatches += comparison.mismatches
    figures.note(f"fault-free sync: {clean_requests} requests; with faults: {stats.total} requests, "
                 f"statuses {dict(stats.by_status)}, {elapsed:.1f} s")
    assert comparison.mismatches == 0, comparison.differing_tables

    injected = sum(stats.faults_injected.values())
    assert set(stats.faults_injected) == set(TRANSIENT_KINDS), stats.faults_injected  # every kind happened
    assert 0.2 <= injected / stats.total <= 0.4  # about 30% of the requests
    answered_ok = stats.by_status[200] - stats.faults_injected["slow"]  # a timed-out answer is sent too late
    assert answered_ok == clean_requests  # every faulted request was retried until it succeeded, once
    assert stats.total == clean_requests + injected
    assert "retrying" in result.stderr  # retries are visible to the user
    assert elapsed < 90


def test_dagster_run_with_transient_faults_equals_a_fault_free_run_and_reports_retries(tmp_path, figures, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", DEMO_ADMIN_KEY)
    week = SyncRange(date(2026, 11, 2), date(2026, 11, 8))
    with Simulator(seed=7, now=NOW) as simulator:
        clean = tmp_path / "clean.duckdb"
        run_sync(settings_for(simulator, clean), week)
        clean_requests = simulator.stats.total
        simulator.faults = Faults(seed=5, rate=FAULT_RATE, kinds=("429", "500", "529", "drop"), retry_after=1)
        faulty = tmp_path / "faulty.duckdb"
        results = run_sync(settings_for(simulator, faulty), week)
        faulty_requests = simulator.stats.total - clean_requests
        injected = sum(simulator.stats.faults_injected.values())
        figures.requests += simulator.stats.total
        figures.faults.update(simulator.stats.faults_injected)
    comparison = compare(raw_contents(clean), raw_contents(faulty))
    figures.rows_compared += comparison.rows_compared
    figures.mismatches += comparison.mismatches
    assert comparison.mismatches == 0, comparison.differing_tables
    assert faulty_requests == clean_requests + injected
    reports_run = next(result for result in results if result.asset_materializations_for_node("raw__cost_report"))
    retries = sum(
        reports_run.asset_materializations_for_node(node)[0].metadata["retries"].value
        for node in ("raw__messages_usage", "raw__cost_report", "raw__claude_code_usage")
    )
    report_faults = sum(1 for fault in simulator.stats.fault_log if "/usage_report/" in fault.path or "/cost_report" in fault.path)
    assert retries >= report_faults > 0  # the materializations count the report endpoints' retries
