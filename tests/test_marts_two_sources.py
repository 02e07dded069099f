"""The marts take each day's bill from exactly one source: the legacy cost report or the Usage and
Cost Analytics API, chosen per organization and UTC day from the load log.

A warehouse is built from raw rows inserted directly (the loaders are tested elsewhere), with a
legacy day (2025-12-31), an analytics day across the 2026-01-01 boundary, and a day loaded from both
sources (2026-01-02). The legacy cost report shows list amounts and leaves out Priority Tier, as the
simulator's does.
"""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import duckdb
import polars as pl
import pytest

from pipelines import report
from pipelines.catalog import ensure_schema
from pipelines.marts import build_marts, run_checks
from pipelines.models import mart_checks
from pipelines.warehouse import read_sql
from tests.warehouse_helpers import tables_that_differ

ORG = "org_1"
LEGACY_DAY, ANALYTICS_DAY, BOTH_DAY = date(2025, 12, 31), date(2026, 1, 1), date(2026, 1, 2)
DEFAULT = "wrkspc_default"  # the default workspace's real ID (legacy reports call it NULL)
RESEARCH = "wrkspc_research"
MODEL = "claude-sonnet-4-5-20250929"
LOADED_AT = datetime(2026, 1, 3, tzinfo=UTC)
USD = Decimal


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict]) -> None:
    frame = pl.DataFrame(rows, infer_schema_length=None)
    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM frame")


def entity(**columns) -> dict:
    return {"organization_id": ORG, "row_hash": "x", "valid_from": at(date(2025, 1, 1)), "is_current": True,
            "loaded_at": LOADED_AT, **columns}


def log_loads(con: duckdb.DuckDBPyConnection, day: date, source: str, tables: tuple[str, ...]) -> None:
    insert(con, "raw.load_log", [
        {"organization_id": ORG, "table_name": table, "partition_date": day, "loaded_at": LOADED_AT,
         "window_start": at(day), "window_end": at(day + timedelta(days=1)), "pages": 1, "requests": 1,
         "rows": 1, "restated": False, "source": source}
        for table in tables
    ])


def legacy_cost(day: date, workspace_id: str | None, usd: str, token_type: str = "output_tokens") -> dict:
    return {"organization_id": ORG, "bucket_start": at(day), "bucket_end": at(day + timedelta(days=1)),
            "workspace_id": workspace_id, "description": f"{MODEL} {token_type}", "cost_type": "tokens",
            "model": MODEL, "token_type": token_type, "service_tier": "standard", "context_window": "0-200k",
            "inference_geo": "global", "currency": "USD", "amount_cents": USD(usd) * 100, "amount_usd": USD(usd),
            "loaded_at": LOADED_AT}


def legacy_usage(day: date, workspace_id: str | None, api_key_id: str, output_tokens: int) -> dict:
    return {"organization_id": ORG, "bucket_start": at(day), "bucket_end": at(day + timedelta(days=1)),
            "bucket_width": "1d", "workspace_id": workspace_id, "api_key_id": api_key_id, "model": MODEL,
            "service_tier": "standard", "context_window": "0-200k", "inference_geo": "global",
            "uncached_input_tokens": 0, "cache_creation_5m_input_tokens": 0, "cache_creation_1h_input_tokens": 0,
            "cache_read_input_tokens": 0, "output_tokens": output_tokens, "web_search_requests": 0,
            "loaded_at": LOADED_AT}


def analytics_cost(day: date, workspace_id: str | None, billed: str, listed: str, *, grouping: str = "actor",
                   ordinal: int = 1, service_tier: str = "standard", **group) -> dict:
    return {"organization_id": ORG, "bucket_start": at(day), "bucket_end": at(day + timedelta(days=1)),
            "bucket_width": "1d", "grouping": grouping, "row_ordinal": ordinal, "workspace_id": workspace_id,
            "model": MODEL, "service_tier": service_tier if grouping == "actor" else None,
            "cost_type": "tokens" if grouping == "actor" else None,
            "token_type": "output_tokens" if grouping == "actor" else None, "currency": "USD",
            "amount_cents": USD(billed) * 100, "list_amount_cents": USD(listed) * 100, "amount_usd": USD(billed),
            "list_amount_usd": USD(listed), "loaded_at": LOADED_AT, **group}


def analytics_actor_rows(day: date) -> list[dict]:
    """One day of the Analytics API's cost grouped by actor: billed 8.25, list 10.50, Priority Tier 0.40."""
    return [
        analytics_cost(day, DEFAULT, "3.00", "4.00", actor_type="user_actor", actor_id="user_bob",
                       actor_email="bob@example.com", actor_name="Bob"),
        analytics_cost(day, DEFAULT, "0.40", "0.40", service_tier="priority", actor_type="user_actor",
                       actor_id="user_bob", actor_email="bob@example.com", actor_name="Bob"),
        analytics_cost(day, RESEARCH, "2.00", "2.50", api_key_id="apikey_alice", actor_type="api_actor",
                       actor_id="apikey_alice"),
        # two identities the API cannot render: identical keys, one row each, to be summed
        analytics_cost(day, RESEARCH, "1.00", "1.50", ordinal=1),
        analytics_cost(day, RESEARCH, "0.50", "0.60", ordinal=2),
        analytics_cost(day, RESEARCH, "1.25", "1.40", actor_type="service_account_actor", actor_id="svac_ci"),
        analytics_cost(day, DEFAULT, "0.10", "0.10", actor_type="federated_actor",
                       federated_provider="aws", federated_provider_id="123456789012",
                       federated_subject="arn:aws:iam::123456789012:role/batch"),
    ]


ANALYTICS_BILL, ANALYTICS_LIST, PRIORITY = USD("8.25"), USD("10.50"), USD("0.40")


def analytics_product_rows(day: date) -> list[dict]:
    return [
        analytics_cost(day, DEFAULT, "3.50", "4.50", grouping="product", product="messages_api"),
        analytics_cost(day, RESEARCH, "4.75", "6.00", grouping="product", product="claude_code"),
    ]


def analytics_usage_rows(day: date) -> list[dict]:
    base = {"organization_id": ORG, "bucket_start": at(day), "bucket_end": at(day + timedelta(days=1)),
            "bucket_width": "1d", "grouping": "product", "model": MODEL, "uncached_input_tokens": 10,
            "cache_creation_5m_input_tokens": 0, "cache_creation_1h_input_tokens": 0, "cache_read_input_tokens": 5,
            "output_tokens": 100, "web_search_requests": 0, "total_tokens": 115, "loaded_at": LOADED_AT}
    return [
        {**base, "row_ordinal": 1, "workspace_id": DEFAULT, "product": "messages_api", "requests": 3},
        {**base, "row_ordinal": 1, "workspace_id": RESEARCH, "product": "claude_code", "requests": 2},
    ]


def load_entities(con: duckdb.DuckDBPyConnection) -> None:
    ensure_schema(con)
    insert(con, "raw.workspaces", [entity(id=RESEARCH, name="Research")])
    insert(con, "raw.users", [entity(id="user_alice", email="alice@example.com", name="Alice"),
                              entity(id="user_bob", email="bob@example.com", name="Bob")])
    # a new-shape key in the default workspace reveals its real ID (scope.workspace_id, no workspace_id)
    insert(con, "raw.api_keys", [entity(id="apikey_alice", name="alice-key", status="active", principal_type="user",
                                        principal_id="user_alice", scope_type="workspace",
                                        scope_workspace_id=DEFAULT)])


def load_legacy(con: duckdb.DuckDBPyConnection, day: date, default_usd: str, research_usd: str) -> None:
    """The legacy reports of a day (the default workspace is NULL there); alice's key used all tokens."""
    insert(con, "raw.cost_report", [legacy_cost(day, None, default_usd), legacy_cost(day, RESEARCH, research_usd)])
    insert(con, "raw.messages_usage", [legacy_usage(day, None, "apikey_alice", 600),
                                       legacy_usage(day, RESEARCH, "apikey_alice", 400)])
    log_loads(con, day, "legacy", ("raw.cost_report", "raw.messages_usage"))


def load_analytics(con: duckdb.DuckDBPyConnection, day: date) -> None:
    insert(con, "raw.analytics_cost", analytics_actor_rows(day) + analytics_product_rows(day))
    insert(con, "raw.analytics_usage", analytics_usage_rows(day))
    log_loads(con, day, "analytics", ("raw.analytics_cost", "raw.analytics_usage"))


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    con = duckdb.connect(str(tmp_path_factory.mktemp("two_sources") / "warehouse.duckdb"))
    load_entities(con)
    load_legacy(con, LEGACY_DAY, "6.00", "4.00")
    load_analytics(con, ANALYTICS_DAY)
    load_analytics(con, BOTH_DAY)
    # 2026-01-02 also from the legacy reports: list amounts without Priority Tier, and 0.20 more in
    # Research that nothing explains
    load_legacy(con, BOTH_DAY, "4.10", "6.20")
    build = build_marts(con)
    yield con, build
    con.close()


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def test_each_day_takes_its_bill_from_one_source(warehouse):
    con, _ = warehouse
    assert rows(con, "SELECT date, source, loaded_from_both FROM intermediate.int_bill_sources ORDER BY date") == [
        (LEGACY_DAY, "legacy", False), (ANALYTICS_DAY, "analytics", False), (BOTH_DAY, "analytics", True)]
    assert rows(con, "SELECT date, sum(cost_usd) FROM marts.workspace_daily_cost GROUP BY date ORDER BY date") == [
        (LEGACY_DAY, USD("10.00")), (ANALYTICS_DAY, ANALYTICS_BILL), (BOTH_DAY, ANALYTICS_BILL)]
    assert rows(con, "SELECT date, source, billed_usd FROM intermediate.int_daily_bill ORDER BY date") == [
        (LEGACY_DAY, "legacy", USD("10.00")), (ANALYTICS_DAY, "analytics", ANALYTICS_BILL),
        (BOTH_DAY, "analytics", ANALYTICS_BILL)]


def test_every_error_check_passes_on_both_kinds_of_day(warehouse):
    con, build = warehouse
    failed = {result.check.key: result.violations for result in run_checks(con, mart_checks(), build)
              if result.violations and result.check.severity == "ERROR"}
    assert failed == {}


def test_the_default_workspace_is_one_workspace_across_sources(warehouse):
    con, _ = warehouse
    assert rows(con, f"""
        SELECT date, workspace_name, is_default_workspace, sum(cost_usd) FROM marts.workspace_daily_cost
        WHERE workspace_id = '{DEFAULT}' GROUP BY ALL ORDER BY date""") == [
        (LEGACY_DAY, "Default Workspace", True, USD("6.00")),
        (ANALYTICS_DAY, "Default Workspace", True, USD("3.50")),
        (BOTH_DAY, "Default Workspace", True, USD("3.50"))]
    assert rows(con, "SELECT DISTINCT workspace_id FROM marts.workspace_daily_cost ORDER BY 1") == [(DEFAULT,), (RESEARCH,)]


def test_users_and_unattributed_equal_the_bill_per_day_and_workspace(warehouse):
    con, _ = warehouse
    assert rows(con, """
        SELECT date, workspace_id, sum(cost_usd) FROM marts.user_daily_cost GROUP BY ALL
        EXCEPT SELECT date, workspace_id, sum(cost_usd) FROM marts.workspace_daily_cost GROUP BY ALL""") == []
    assert rows(con, f"""
        SELECT coalesce(user_email, unattributed_reason), cost_usd FROM marts.user_daily_cost
        WHERE date = '{ANALYTICS_DAY}' ORDER BY 1""") == [
        ("alice@example.com", USD("2.00")),      # api_actor through the key's owner
        ("bob@example.com", USD("3.40")),        # user_actor, Priority Tier included
        ("federated_identity", USD("0.10")),
        ("no_actor", USD("1.50")),               # the two unrendered identities, summed
        ("service_account", USD("1.25"))]
    # legacy days keep the token-share allocation: the key's owner gets both workspaces' cost
    assert rows(con, f"SELECT user_email, sum(cost_usd) FROM marts.user_daily_cost WHERE date = '{LEGACY_DAY}' "
                     "GROUP BY ALL") == [("alice@example.com", USD("10.00"))]


def test_actor_cost_sums_unrendered_identities_and_shows_the_discount(warehouse):
    con, _ = warehouse
    assert rows(con, f"""
        SELECT actor_type, cost_usd, list_cost_usd, discount_usd FROM marts.actor_daily_cost
        WHERE date = '{ANALYTICS_DAY}' AND actor_type IS NULL""") == [(None, USD("1.50"), USD("2.10"), USD("0.60"))]
    assert rows(con, f"""
        SELECT sum(cost_usd), sum(list_cost_usd), sum(discount_usd) FROM marts.actor_daily_cost
        WHERE date = '{ANALYTICS_DAY}'""") == [(ANALYTICS_BILL, ANALYTICS_LIST, ANALYTICS_LIST - ANALYTICS_BILL)]


def test_product_usage_and_cost(warehouse):
    con, _ = warehouse
    assert rows(con, f"""
        SELECT workspace_name, product, total_tokens, requests, cost_usd, list_cost_usd
        FROM marts.product_daily_usage_cost WHERE date = '{ANALYTICS_DAY}' ORDER BY product""") == [
        ("Research", "claude_code", 115, 2, USD("4.75"), USD("6.00")),
        ("Default Workspace", "messages_api", 115, 3, USD("3.50"), USD("4.50"))]


def test_source_reconciliation_explains_the_difference(warehouse):
    con, _ = warehouse
    assert rows(con, """
        SELECT date, workspace_id, legacy_bill_usd, analytics_bill_usd, difference_usd, priority_tier_usd,
               discount_usd, unexplained_usd
        FROM marts.source_reconciliation ORDER BY workspace_id""") == [
        (BOTH_DAY, DEFAULT, USD("4.10"), USD("3.50"), USD("-0.60"), PRIORITY, USD("1.00"), USD("0")),
        (BOTH_DAY, RESEARCH, USD("6.20"), USD("4.75"), USD("-1.45"), USD("0"), USD("1.25"), USD("-0.20"))]


def test_focus_takes_list_cost_from_the_analytics_api(warehouse):
    con, _ = warehouse
    assert rows(con, """
        SELECT CAST(ChargePeriodStart AS DATE) AS day, sum(BilledCost) FROM marts.focus_costs GROUP BY ALL ORDER BY day
        """) == [(LEGACY_DAY, USD("10.00")), (ANALYTICS_DAY, ANALYTICS_BILL), (BOTH_DAY, ANALYTICS_BILL)]
    assert rows(con, f"SELECT sum(ListCost) FROM marts.focus_costs WHERE ChargePeriodStart = '{ANALYTICS_DAY}'") == [
        (ANALYTICS_LIST,)]


def test_the_summary_and_the_report_show_list_versus_billed(warehouse):
    con, _ = warehouse
    assert rows(con, read_sql("summary/list_vs_billed.sql")) == [
        (MODEL, 2 * ANALYTICS_LIST, 2 * ANALYTICS_BILL, 2 * (ANALYTICS_LIST - ANALYTICS_BILL))]
    figures = {figure.title: figure for figure in report._figures(report._Query(con, BOTH_DAY))}
    assert len(figures["Product mix this month"].chart.bars) == 2
    assert len(figures["List versus billed"].chart.lines) == 2
    assert "$4.50 over the period" in figures["List versus billed"].caption


def test_a_day_whose_source_changes_is_rebuilt_incrementally_as_a_full_build_would(tmp_path):
    path, rebuilt = tmp_path / "warehouse.duckdb", tmp_path / "rebuilt.duckdb"
    with duckdb.connect(str(path)) as con:
        load_entities(con)
        load_legacy(con, LEGACY_DAY, "6.00", "4.00")
        load_legacy(con, BOTH_DAY, "4.10", "6.20")
        build_marts(con)
        load_analytics(con, BOTH_DAY)
        build = build_marts(con)
        assert (build.is_full, build.days) == (False, [BOTH_DAY])
        assert rows(con, "SELECT date, sum(cost_usd) FROM marts.user_daily_cost GROUP BY date ORDER BY date") == [
            (LEGACY_DAY, USD("10.00")), (BOTH_DAY, ANALYTICS_BILL)]
    shutil.copy(path, rebuilt)
    with duckdb.connect(str(rebuilt)) as con:
        assert build_marts(con, full=True).is_full
    assert tables_that_differ(path, rebuilt, ("intermediate", "marts"), frozenset({"x_ExportedAt"})) == []
