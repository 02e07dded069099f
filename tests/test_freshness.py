"""Freshness checks on the raw report assets: the newest loaded day against the report's threshold
(USAGE_PIPELINE_STALE_AFTER_DAYS, or its own in USAGE_PIPELINE_STALE_AFTER_DAYS_BY_REPORT), and the
Analytics API's data_refreshed_at against USAGE_PIPELINE_REFRESH_LAG_HOURS at the most recent load."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from admin_api_simulator import DEMO_ADMIN_KEY, Simulator
from pipelines.defs import build_definitions
from pipelines.defs.freshness import freshness_check_key
from pipelines.reports import REPORT_NAMES
from pipelines.settings import Settings
from pipelines.sync import SyncRange, run_sync
from tests.conftest import SIMULATOR_SEED


def settings_for(simulator, tmp_path, **extra) -> Settings:
    return Settings.from_mapping({"base_url": simulator.base_url, "warehouse_path": str(tmp_path / "w.duckdb"),
                                  "start_date": "2026-01-01", "requests_per_minute": 0, **extra})


def freshness_of(results) -> dict[str, tuple[bool, dict]]:
    return {evaluation.asset_key.path[-1]: (evaluation.passed, evaluation.metadata)
            for result in results for evaluation in result.get_asset_check_evaluations()
            if evaluation.check_name == "fresh"}


def descriptions_of(results) -> dict[str, str]:
    return {evaluation.asset_key.path[-1]: evaluation.description
            for result in results for evaluation in result.get_asset_check_evaluations()
            if evaluation.check_name == "fresh"}


def test_every_report_asset_has_a_freshness_check_in_the_definitions(simulator, tmp_path):
    definitions = build_definitions(settings_for(simulator, tmp_path))
    check_keys = definitions.resolve_asset_graph().asset_check_keys
    assert {freshness_check_key(name) for name in REPORT_NAMES} <= check_keys


@pytest.mark.parametrize("stale_after_days", [2, 366])
def test_a_sync_checks_the_freshness_of_the_reports_it_loaded(simulator, tmp_path, monkeypatch, stale_after_days):
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", DEMO_ADMIN_KEY)
    settings = settings_for(simulator, tmp_path, stale_after_days=stale_after_days)
    results = run_sync(settings, SyncRange(date(2026, 11, 1), date(2026, 11, 2)), reports=("claude_code_usage",),
                       entities=False, marts=False)
    checks = freshness_of(results)
    assert set(checks) == {"claude_code_usage"}
    passed, metadata = checks["claude_code_usage"]
    behind = (datetime.now(UTC).date() - date(2026, 11, 2)).days
    assert metadata["days_behind"].value == behind
    assert passed == (behind <= stale_after_days)


def test_a_report_of_its_own_threshold_is_stale_where_the_default_keeps_another_fresh(simulator, tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", DEMO_ADMIN_KEY)
    settings = settings_for(simulator, tmp_path, source="legacy", stale_after_days=366,
                            stale_after_days_by_report="claude_code_usage=3")
    results = run_sync(settings, SyncRange(date(2026, 11, 1), date(2026, 11, 2)),
                       reports=("claude_code_usage", "cost_report"), entities=False, marts=False)
    checks, descriptions = freshness_of(results), descriptions_of(results)
    assert {name: (passed, metadata["stale_after_days"].value) for name, (passed, metadata) in checks.items()} == {
        "claude_code_usage": (False, 3), "cost_report": (True, 366)}
    assert "(stale after 3)" in descriptions["claude_code_usage"]
    assert "(stale after 366)" in descriptions["cost_report"]
    assert all("refresh_lag_hours" not in metadata for _, metadata in checks.values())  # no data_refreshed_at


@pytest.mark.parametrize(("lag_hours", "stale"), [(30, True), (1, False)])
def test_the_analytics_api_export_lagging_its_load_makes_the_report_stale(tmp_path, monkeypatch, lag_hours, stale):
    """Yesterday and today loaded (the newest day is fresh), with data_refreshed_at lag_hours before the load."""
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", DEMO_ADMIN_KEY)
    today = datetime.now(UTC).date()
    with Simulator(seed=SIMULATOR_SEED, refresh_lag_hours=lag_hours) as simulator:
        results = run_sync(settings_for(simulator, tmp_path), SyncRange(today - timedelta(days=1), today),
                           reports=("analytics_usage", "analytics_cost"), entities=False, marts=False)
    checks, descriptions = freshness_of(results), descriptions_of(results)
    assert set(checks) == {"analytics_usage", "analytics_cost"}
    for report, (passed, metadata) in checks.items():
        assert passed is not stale, descriptions[report]
        assert metadata["days_behind"].value == 0
        assert lag_hours <= metadata["refresh_lag_hours"].value < lag_hours + 0.2
        assert metadata["refresh_lag_after_hours"].value == 24
        assert f"the API's export was {metadata['refresh_lag_hours'].value:.1f} h behind" in descriptions[report]


def test_a_legacy_report_and_its_analytics_api_replacement_are_one_check_on_the_one_that_loaded(simulator, tmp_path,
                                                                                               monkeypatch):
    """Under `auto` the Analytics API loads these days and the legacy reports none: stale data fails one check
    per logical report, on the Analytics API asset; the legacy report's check passes, counted with it."""
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", DEMO_ADMIN_KEY)
    results = run_sync(settings_for(simulator, tmp_path), SyncRange(date(2026, 11, 1), date(2026, 11, 2)),
                       entities=False, marts=False)
    checks, descriptions = freshness_of(results), descriptions_of(results)
    assert set(checks) == set(REPORT_NAMES)
    assert {name for name, (passed, _) in checks.items() if not passed} == {
        "analytics_usage", "analytics_cost", "claude_code_usage"}
    for legacy, replacement in (("messages_usage", "analytics_usage"), ("cost_report", "analytics_cost")):
        assert checks[legacy][1]["counted_with"].value == replacement
        assert descriptions[legacy] == (f"{legacy}: counted with {replacement}, which loaded the newest day "
                                        "2026-11-02 and carries the check")
