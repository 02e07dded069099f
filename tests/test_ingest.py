"""Ingestion end to end: the Dagster assets against the simulator over real HTTP, into a real DuckDB file."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import dagster as dg
import pytest

from admin_api_simulator import DEMO_ADMIN_KEY, Simulator
from admin_api_simulator.traffic import USAGE_METRICS
from pipelines.defs.jobs import PARTITION_RANGE_END, PARTITION_RANGE_START
from pipelines.defs import build_definitions
from pipelines.settings import Settings
from pipelines.sync import SyncRange, run_sync
from tests.warehouse_helpers import REPORT_TABLES, scalar, table_contents

TOKEN_COLUMNS = USAGE_METRICS  # every token counter and web searches
FIRST, LAST = date(2026, 11, 1), date(2026, 11, 9)  # spans two 7-day request windows


@pytest.fixture
def settings(simulator, tmp_path, monkeypatch) -> Settings:
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", DEMO_ADMIN_KEY)
    return Settings.from_mapping(
        {
            "base_url": simulator.base_url,
            "warehouse_path": str(tmp_path / "warehouse.duckdb"),
            "start_date": "2026-01-01",
            "requests_per_minute": 0,
            "source": "legacy",  # these tests check the legacy reports; tests/test_analytics_*.py the Analytics API
        }
    )


def sync(settings: Settings, first: date = FIRST, last: date = LAST, **options):
    return run_sync(settings, SyncRange(first, last), **options)


def test_raw_tables_sum_exactly_to_what_the_simulator_served(simulator, settings):
    sync(settings)
    path = settings.warehouse_path
    window = (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 10, tzinfo=UTC))
    expected_tokens = simulator.org.expected_usage_totals(*window)
    for column in TOKEN_COLUMNS:
        loaded = scalar(path, f"SELECT coalesce(sum({column}), 0) FROM raw.messages_usage")
        assert loaded == expected_tokens[column], column
    assert scalar(path, "SELECT sum(amount_cents) FROM raw.cost_report") == simulator.org.expected_cost_cents(FIRST, LAST)
    default_cents = simulator.org.expected_cost_cents(FIRST, LAST, workspace_id=None)
    assert default_cents > 0
    assert scalar(path, "SELECT sum(amount_cents) FROM raw.cost_report WHERE workspace_id IS NULL") == default_cents
    assert scalar(path, "SELECT bool_and(amount_usd * 100 = amount_cents) FROM raw.cost_report")
    for day in (FIRST, LAST):
        assert scalar(path, "SELECT count(*) FROM raw.claude_code_usage WHERE date = ?", [day]) == (
            simulator.org.expected_claude_code_rows(day)
        )


def test_every_row_carries_its_organization_and_load_time(simulator, settings):
    sync(settings, LAST, LAST)
    for table in REPORT_TABLES + ("raw.users", "raw.api_keys", "raw.workspaces"):
        assert scalar(
            settings.warehouse_path,
            f"SELECT count(*) FILTER (WHERE organization_id IS DISTINCT FROM ? OR loaded_at IS NULL) FROM {table}",
            [simulator.org.organization_id],
        ) == 0, table


def test_rerunning_a_range_changes_nothing(settings):
    sync(settings)
    first = table_contents(settings.warehouse_path)
    sync(settings)
    assert table_contents(settings.warehouse_path) == first
    assert scalar(settings.warehouse_path, "SELECT count(*) FROM raw.users") == scalar(
        settings.warehouse_path, "SELECT count(DISTINCT id) FROM raw.users"
    )


def test_rerunning_one_partition_inside_a_loaded_range_changes_nothing(settings):
    sync(settings)
    before = table_contents(settings.warehouse_path)
    sync(settings, date(2026, 11, 4), date(2026, 11, 4), entities=False)
    assert table_contents(settings.warehouse_path) == before


def test_a_restated_day_is_replaced_by_the_next_scheduled_run(simulator, settings):
    defs = build_definitions(settings)
    schedule = defs.resolve_schedule_def("ingest_usage_and_cost_daily")
    scheduled_at = datetime(2026, 11, 10, 2, 20, tzinfo=UTC)
    request = schedule.evaluate_tick(dg.build_schedule_context(scheduled_execution_time=scheduled_at)).run_requests[0]
    lookback = (date.fromisoformat(request.tags[PARTITION_RANGE_START]), date.fromisoformat(request.tags[PARTITION_RANGE_END]))
    assert lookback == (date(2026, 11, 6), date(2026, 11, 10))  # today, yesterday and 3 days before

    sync(settings)
    restated_day = date(2026, 11, 8)
    cost_before = scalar(settings.warehouse_path, "SELECT sum(amount_cents) FROM raw.cost_report WHERE bucket_start::DATE = ?", [restated_day])
    simulator.restate(restated_day)
    sync(settings, *lookback, entities=False, reports=("messages_usage", "cost_report"))

    path = settings.warehouse_path
    expected = simulator.org.expected_cost_cents(restated_day, restated_day)
    assert expected != cost_before
    assert scalar(path, "SELECT sum(amount_cents) FROM raw.cost_report WHERE bucket_start::DATE = ?", [restated_day]) == expected
    assert scalar(path, "SELECT sum(amount_cents) FROM raw.cost_report") == simulator.org.expected_cost_cents(FIRST, date(2026, 11, 10))
    day_start = datetime.combine(restated_day, datetime.min.time(), tzinfo=UTC)
    assert scalar(path, "SELECT sum(output_tokens) FROM raw.messages_usage WHERE bucket_start::DATE = ?", [restated_day]) == (
        simulator.org.expected_usage_totals(day_start, day_start + timedelta(days=1))["output_tokens"]
    )
    assert scalar(
        path,
        "SELECT list(DISTINCT table_name ORDER BY table_name) FROM raw.load_log WHERE restated AND partition_date = ?",
        [restated_day],
    ) == ["raw.cost_report", "raw.messages_usage"]
    assert scalar(path, "SELECT count(*) FROM raw.load_log WHERE restated AND partition_date <> ?", [restated_day]) == 0
    assert scalar(
        path,
        "SELECT cost_cents_change FROM raw.load_log WHERE restated AND table_name = 'raw.cost_report'",
    ) == expected - cost_before


def test_load_log_has_one_row_per_partition_load(settings):
    sync(settings)
    sync(settings, date(2026, 11, 4), date(2026, 11, 4), entities=False)
    path = settings.warehouse_path
    days = (LAST - FIRST).days + 1
    assert scalar(path, "SELECT count(*) FROM raw.load_log WHERE table_name = 'raw.messages_usage'") == days + 1
    assert scalar(path, "SELECT count(*) FROM raw.load_log WHERE table_name = 'raw.claude_code_usage'") == days + 1
    assert scalar(path, "SELECT count(*) FROM raw.load_log WHERE restated") == 0
    assert scalar(
        path,
        "SELECT sum(rows) FROM raw.load_log WHERE table_name = 'raw.messages_usage' AND run_id IS NOT NULL "
        "AND partition_date BETWEEN ? AND ? AND loaded_at = (SELECT min(loaded_at) FROM raw.load_log "
        "WHERE table_name = 'raw.messages_usage' AND partition_date = ?)",
        [FIRST, date(2026, 11, 7), FIRST],
    ) == scalar(path, "SELECT count(*) FROM raw.messages_usage WHERE bucket_start < '2026-11-08'")


def test_materialization_metadata_reports_rows_pages_requests_and_window(settings):
    results = sync(settings)
    materialization = results[-1].asset_materializations_for_node("raw__messages_usage")[0]
    metadata = {key: value.value for key, value in materialization.metadata.items()}
    assert metadata["dagster/row_count"] == scalar(settings.warehouse_path, "SELECT count(*) FROM raw.messages_usage")
    assert metadata["window"] == "2026-11-01 .. 2026-11-09"
    assert metadata["request_windows"] == 2
    assert metadata["pages"] >= 2
    assert metadata["requests"] >= metadata["pages"]
    assert [column.name for column in metadata["dagster/column_schema"].columns] == scalar(
        settings.warehouse_path,
        "SELECT list(column_name ORDER BY column_index) FROM duckdb_columns() "
        "WHERE schema_name = 'raw' AND table_name = 'messages_usage'",
    )
    users = results[0].asset_materializations_for_node("entity_snapshots")
    assert all(m.metadata["dagster/column_schema"].value.columns for m in users)


def test_an_unknown_field_is_kept_in_extras_and_warned_about(simulator, settings):
    simulator.faults.extra_field = "surprise_field"
    results = sync(settings, LAST, LAST)
    path = settings.warehouse_path
    extras = scalar(path, "SELECT any_value(extras) FROM raw.messages_usage WHERE extras IS NOT NULL")
    assert "surprise_field" in json.loads(extras)
    assert scalar(path, "SELECT count(*) FILTER (WHERE extras IS NULL) FROM raw.cost_report") == 0
    warnings = results[-1].asset_materializations_for_node("raw__messages_usage")[0].metadata["schema_warnings"].value
    assert "surprise_field" in warnings
    assert "surprise_field" in scalar(path, "SELECT string_agg(schema_warnings, ' ') FROM raw.load_log")


def test_entity_history_keeps_past_versions(simulator, settings):
    sync(settings, LAST, LAST, reports=())
    path = settings.warehouse_path
    versions = scalar(path, "SELECT count(*) FROM raw.api_keys")
    workspace_versions = scalar(path, "SELECT count(*) FROM raw.workspaces")
    sync(settings, LAST, LAST, reports=())
    assert scalar(path, "SELECT count(*) FROM raw.api_keys") == versions  # nothing changed: no new version
    assert scalar(path, "SELECT count(*) FROM raw.workspaces") == workspace_versions
    # listed only with include_default=true: the default workspace, under its real ID
    assert scalar(path, "SELECT string_agg(id) FROM raw.workspaces WHERE is_default") == (
        simulator.org.cast.default_workspace.id)
    assert scalar(path, "SELECT count(*) FROM raw.workspaces WHERE NOT is_default") == sum(
        not w.is_default for w in simulator.org.cast.workspaces)
    assert scalar(path, "SELECT count(*) FROM raw.workspaces WHERE archived_at IS NOT NULL") >= 1
    assert scalar(path, "SELECT count(*) FROM raw.organization WHERE is_current") == 1
    assert scalar(path, "SELECT count(*) FROM raw.api_keys WHERE principal_id IS NOT NULL") > 0
    assert scalar(path, "SELECT count(*) FROM raw.api_keys WHERE principal_id IS NULL AND created_by_id IS NOT NULL") > 0


def test_definitions_load_with_grouped_described_assets_and_schedules(settings):
    defs = build_definitions(settings)
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys() if key.path[0] == "raw"}
    assert keys == {
        "raw/analytics_usage", "raw/analytics_cost", "raw/messages_usage", "raw/cost_report", "raw/claude_code_usage",
        "raw/organization", "raw/users",
        "raw/invites", "raw/workspaces", "raw/workspace_members", "raw/api_keys",
    }
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.group_name == key.path[0]  # raw, intermediate, marts
        assert node.description
    assert {s.name for s in defs.schedules} == {
        "snapshot_entities_daily", "ingest_usage_and_cost_daily", "ingest_claude_code_daily",
    }


def test_several_organizations_load_side_by_side_and_never_overwrite_each_other(tmp_path, monkeypatch):
    second_key = "sk-ant-admin01-second-organization-demo-key"
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    with Simulator(seed=11, now=now, more_organizations={second_key: 12}) as simulator:
        second_org = simulator.orgs_by_key[second_key]
        assert second_org.organization_id != simulator.org.organization_id
        settings = Settings.from_mapping(
            {"base_url": simulator.base_url, "warehouse_path": str(tmp_path / "w.duckdb"),
             "start_date": "2026-01-01", "requests_per_minute": 0, "source": "legacy"}
        )
        monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", f"{DEMO_ADMIN_KEY}, {second_key}")
        sync(settings, LAST, LAST)
        monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", DEMO_ADMIN_KEY)
        sync(settings, LAST, LAST)  # re-loading one organization leaves the other's partitions alone

    path = settings.warehouse_path
    for org in (simulator.org, second_org):
        cents = scalar(path, "SELECT sum(amount_cents) FROM raw.cost_report WHERE organization_id = ?", [org.organization_id])
        assert cents == org.expected_cost_cents(LAST, LAST)
        assert scalar(path, "SELECT count(*) FROM raw.organization WHERE id = ? AND is_current", [org.organization_id]) == 1
    assert scalar(path, "SELECT count(DISTINCT organization_id) FROM raw.messages_usage") == 2
