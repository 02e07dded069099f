"""Syncs against the simulator's Usage and Cost Analytics API: each day from exactly one source (also
across 2025-12-31/2026-01-01), the 404 fallback, a Claude Enterprise key, and an idempotent re-run."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from admin_api_simulator import DEMO_ADMIN_KEY, Simulator
from pipelines.settings import Settings
from pipelines.sync import SyncRange, run_sync
from tests.warehouse_helpers import scalar

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def sync(simulator: Simulator, warehouse: Path, first: date, last: date, **settings) -> None:
    run_sync(
        Settings.from_mapping({"base_url": simulator.base_url, "warehouse_path": str(warehouse), "start_date": "2025-11-01",
                               "requests_per_minute": 0, **settings}),
        SyncRange(first, last), entities=False, marts=False,
    )


def sources_per_day(warehouse: Path) -> dict[str, set[str]]:
    rows = scalar(warehouse, "SELECT list(DISTINCT partition_date::VARCHAR || ' ' || table_name) FROM raw.load_log "
                             "WHERE table_name IN ('raw.cost_report', 'raw.analytics_cost', 'raw.messages_usage', "
                             "'raw.analytics_usage')")
    days: dict[str, set[str]] = {}
    for entry in rows:
        day, table = entry.split(" ")
        days.setdefault(day, set()).add(table)
    return days


@pytest.fixture(autouse=True)
def admin_key(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", DEMO_ADMIN_KEY)


def test_a_window_across_2026_takes_each_day_from_one_source_and_a_rerun_changes_nothing(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    with Simulator(seed=7, now=NOW) as simulator:
        sync(simulator, warehouse, date(2025, 12, 30), date(2026, 1, 2))
        counts = {table: scalar(warehouse, f"SELECT count(*) FROM {table}")
                  for table in ("raw.analytics_cost", "raw.analytics_usage", "raw.cost_report", "raw.messages_usage")}
        sync(simulator, warehouse, date(2025, 12, 30), date(2026, 1, 2))
    assert sources_per_day(warehouse) == {
        "2025-12-30": {"raw.cost_report", "raw.messages_usage"},
        "2025-12-31": {"raw.cost_report", "raw.messages_usage"},
        "2026-01-01": {"raw.analytics_cost", "raw.analytics_usage"},
        "2026-01-02": {"raw.analytics_cost", "raw.analytics_usage"},
    }
    assert all(count > 0 for count in counts.values()), counts
    for table, count in counts.items():  # the second identical sync replaced, never added
        assert scalar(warehouse, f"SELECT count(*) FROM {table}") == count
    assert scalar(warehouse, "SELECT count(*) FROM raw.load_log WHERE restated") == 0
    for table in counts:  # load twice: count == count distinct
        assert scalar(warehouse, f"SELECT count(*) FROM (SELECT DISTINCT * FROM {table})") == counts[table]


def test_an_organization_without_the_analytics_api_falls_back_to_the_legacy_reports(tmp_path, caplog):
    warehouse = tmp_path / "w.duckdb"
    with caplog.at_level(logging.INFO, logger="pipelines.progress"), Simulator(seed=7, now=NOW,
                                                                               analytics_available=False) as simulator:
        sync(simulator, warehouse, date(2026, 11, 17), date(2026, 11, 18))
    assert sources_per_day(warehouse) == {day: {"raw.cost_report", "raw.messages_usage"} for day in ("2026-11-17", "2026-11-18")}
    fallbacks = [record.message for record in caplog.records if "loaded from the legacy reports" in record.message]
    assert len(fallbacks) == 2 and all("404" in line for line in fallbacks)  # one line per report, saying why


def test_forcing_the_analytics_source_fails_on_a_404_instead_of_falling_back(tmp_path):
    with Simulator(seed=7, now=NOW, analytics_available=False) as simulator, pytest.raises(BaseException) as raised:
        sync(simulator, tmp_path / "w.duckdb", date(2026, 11, 17), date(2026, 11, 17), source="analytics")
    assert "404" in str(raised.value) or any("404" in str(error) for error in getattr(raised.value, "exceptions", ()))


def test_a_claude_enterprise_key_loads_what_it_may_read_and_says_what_it_skipped(tmp_path, caplog):
    warehouse = tmp_path / "w.duckdb"
    with caplog.at_level(logging.INFO, logger="pipelines.progress"), Simulator(seed=7, now=NOW,
                                                                               org_type="enterprise") as simulator:
        run_sync(Settings.from_mapping({"base_url": simulator.base_url, "warehouse_path": str(warehouse),
                                        "start_date": "2026-11-01", "requests_per_minute": 0}),
                 SyncRange(date(2026, 11, 17), date(2026, 11, 18)))
    assert scalar(warehouse, "SELECT count(*) FROM raw.analytics_cost") > 0
    assert scalar(warehouse, "SELECT count(*) FROM raw.users") == 0
    assert scalar(warehouse, "SELECT count(DISTINCT product) FROM raw.analytics_usage WHERE grouping = 'product'") >= 2
    skipped = [record.message for record in caplog.records if "403" in record.message]
    assert any("raw.users" in line for line in skipped) and any("claude_code_usage" in line for line in skipped)
    assert (warehouse.parent / "serving.duckdb").is_file()
