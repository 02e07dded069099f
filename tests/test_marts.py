"""The marts end to end: the simulator over real HTTP, `run_sync` into a real DuckDB file, then SQL.

One warehouse is synced per module (a day when the archived workspace still had traffic, then
2026-10-01..2026-11-20); tests that break something work on a copy of it.
"""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from admin_api_simulator import DEMO_ADMIN_KEY, Simulator
from admin_api_simulator.billing import TOKEN_TYPES
from admin_api_simulator.prices import load_price_table
from admin_api_simulator.traffic import DIMENSIONS, USAGE_METRICS
from pipelines.defs.marts import MART_CHECKS, MART_TABLES, asset_key, check_key, marts
from pipelines.defs.resources import resources_from_settings
from pipelines.warehouse import connect
from pipelines.marts import build_marts
from pipelines.defs import build_definitions
from pipelines.settings import Settings
from pipelines.sync import SyncRange, run_sync
from tests.conftest import SIMULATOR_NOW, SIMULATOR_SEED
from tests.warehouse_helpers import record_reload, scalar, tables_that_differ

README = Path(__file__).resolve().parents[1] / "README.md"
ARCHIVED_DAY = date(2025, 10, 30)  # the day before "Legacy Prototypes" was archived
FIRST, LAST = date(2026, 10, 1), date(2026, 11, 20)  # last month and this month at the simulator's clock
TODAY = "DATE '2026-11-20'"  # the simulator's today, for queries written with current_date
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


# ##### FIXTURES


def settings_for(simulator: Simulator, path: Path, **extra) -> Settings:
    """Legacy days only: the legacy marts' figures are checked against the simulator's legacy reports
    (tests/test_marts_two_sources.py covers the days of the Analytics API)."""
    return Settings.from_mapping(
        {"base_url": simulator.base_url, "warehouse_path": str(path), "start_date": "2025-01-01",
         "requests_per_minute": 0, "source": "legacy", **extra}
    )


@pytest.fixture(scope="module")
def org_simulator():
    with Simulator(seed=SIMULATOR_SEED, port=0, now=SIMULATOR_NOW) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def synced(org_simulator, tmp_path_factory):
    """(warehouse path, the last sync's Dagster result): both ranges loaded, marts built and checked."""
    path = tmp_path_factory.mktemp("marts") / "warehouse.duckdb"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ANTHROPIC_ADMIN_KEY", DEMO_ADMIN_KEY)
        settings = settings_for(org_simulator, path)
        run_sync(settings, SyncRange(ARCHIVED_DAY, ARCHIVED_DAY))
        results = run_sync(settings, SyncRange(FIRST, LAST), entities=False)
    return path, results[-1]


@pytest.fixture(scope="module")
def warehouse(synced) -> Path:
    return synced[0]


@pytest.fixture
def warehouse_copy(warehouse, tmp_path) -> Path:
    copy = tmp_path / "copy.duckdb"
    shutil.copy(warehouse, copy)
    return copy


def query(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def execute(path: Path, sql: str) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute(sql)


def materialize_marts(path: Path, *, checks_only: bool = False, budgets: dict | None = None) -> dg.ExecuteInProcessResult:
    """Rebuild the marts (or only run their checks) through Dagster, as the sync and the jobs do."""
    settings = Settings.from_mapping({"warehouse_path": str(path), "budgets": budgets or {}})
    return dg.materialize(
        [marts],
        selection=dg.AssetSelection.all_asset_checks() if checks_only else None,
        resources=resources_from_settings(settings),
        instance=dg.DagsterInstance.ephemeral(),
        run_config=QUIET,
    )


def mart_check_evaluations(result: dg.ExecuteInProcessResult) -> list[dg.AssetCheckEvaluation]:
    """The evaluations of the marts' checks (the run also checks the raw assets' freshness)."""
    keys = {check_key(check) for check in MART_CHECKS}
    return [e for e in result.get_asset_check_evaluations() if dg.AssetCheckKey(e.asset_key, e.check_name) in keys]


def failed_checks(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    """The marts' checks that failed (freshness compares the simulator's past days with today: not here)."""
    return {
        (evaluation.asset_key.to_user_string(), evaluation.check_name): evaluation
        for evaluation in mart_check_evaluations(result)
        if not evaluation.passed
    }


def readme_query(title: str) -> str:
    """An example query of the README's "Example queries", at the simulator's today."""
    text = README.read_text().split(f"{title}:\n\n```sql\n", 1)[1]
    return text.split("```", 1)[0].replace("current_date", TODAY)


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def expected_user_costs(org, first: date, last: date) -> dict[str, Fraction]:
    """Billed cost per user email, each token cell split exactly (as fractions) by its users' tokens."""
    email = {user.id: user.email for user in org.cast.users}
    key_owner = {key.id: key.created_by.id for key in org.cast.api_keys if key.created_by and key.created_by.type == "user"}
    cell = ["workspace_id", "model", "service_tier", "context_window", "inference_geo"]
    totals: dict[str, Fraction] = defaultdict(Fraction)
    for day in days(first, last):
        start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
        usage = org.hourly_usage(start, start + timedelta(days=1)).with_columns(pl.col(DIMENSIONS).cast(pl.String))
        recipients = defaultdict(list)
        for row in usage.group_by(DIMENSIONS).agg(pl.col(USAGE_METRICS).sum()).iter_rows(named=True):
            recipients[tuple(row[c] for c in cell)].append(row)
        for item in org.cost_line_items(day):
            if item.cost_type != "tokens":
                continue
            metric = TOKEN_TYPES[item.token_type][0]
            users = recipients[(item.workspace_id, item.model, item.service_tier, item.context_window, item.inference_geo)]
            cell_tokens = sum(row[metric] for row in users)
            for row in users:
                user = row["account_id"] or key_owner.get(row["api_key_id"])
                if user and row[metric]:
                    totals[email[user]] += Fraction(item.amount_cents) / 100 * row[metric] / cell_tokens
    return totals


# ##### TESTS: workspaces, allocation, users


def test_workspace_daily_cost_is_the_bill_with_default_and_archived_workspaces_named(org_simulator, warehouse):
    org = org_simulator.org
    total = scalar(warehouse, "SELECT sum(cost_usd) FROM marts.workspace_daily_cost")
    assert total == scalar(warehouse, "SELECT sum(amount_usd) FROM raw.cost_report")
    assert total == (org.expected_cost_cents(ARCHIVED_DAY, ARCHIVED_DAY) + org.expected_cost_cents(FIRST, LAST)) / 100

    default = org.cast.default_workspace
    assert query(
        warehouse,
        "SELECT DISTINCT workspace_name, is_default_workspace FROM marts.workspace_daily_cost WHERE workspace_id = ?",
        [default.id],
    ) == [(default.name, True)]
    assert scalar(warehouse, "SELECT sum(cost_usd) FROM marts.workspace_daily_cost WHERE workspace_id = ?", [default.id]) == (
        org.expected_cost_cents(FIRST, LAST, workspace_id=None) + org.expected_cost_cents(ARCHIVED_DAY, ARCHIVED_DAY, None)
    ) / 100

    archived = next(w for w in org.cast.workspaces if w.archived_at is not None)
    assert query(
        warehouse, "SELECT workspace_name, sum(cost_usd) FROM marts.workspace_daily_cost WHERE workspace_id = ? GROUP BY ALL",
        [archived.id],
    ) == [(archived.name, org.expected_cost_cents(ARCHIVED_DAY, ARCHIVED_DAY, archived.id) / 100)]
    assert scalar(warehouse, "SELECT sum(cost_usd) FROM marts.workspace_monthly_cost") == total
    assert scalar(
        warehouse,
        "SELECT sum(tokens_usd + web_search_usd + code_execution_usd + session_usage_usd + other_usd) "
        "FROM marts.workspace_monthly_cost",
    ) == total


def test_cost_per_workspace_name_last_month_is_the_simulators_bill(org_simulator, warehouse):
    org = org_simulator.org
    expected = {
        w.name: org.expected_cost_cents(FIRST, date(2026, 10, 31), w.id) / 100
        for w in org.cast.workspaces
        if org.expected_cost_cents(FIRST, date(2026, 10, 31), w.id)
    }
    rows = query(warehouse, readme_query("Cost per workspace name last month"))
    assert dict(rows) == expected
    assert [cost for _, cost in rows] == sorted(expected.values(), reverse=True)


def test_allocations_of_every_cell_sum_exactly_to_its_billed_cost_by_largest_remainder(org_simulator, warehouse):
    mismatched_cells = scalar(
        warehouse,
        """
        SELECT count(*) FROM (  -- per cell: billed minus allocated (GROUP BY matches NULL dimensions)
            SELECT date, workspace_id, cost_type, model, token_type, service_tier, context_window, inference_geo
            FROM (
                SELECT bucket_start::DATE AS date, coalesce(workspace_id, ?) AS workspace_id, cost_type, model,
                       token_type, service_tier, context_window, inference_geo, amount_usd AS amount
                FROM raw.cost_report
                UNION ALL
                SELECT date, workspace_id, cost_type, model, token_type, service_tier, context_window, inference_geo,
                       -cost_usd
                FROM marts.cost_allocation
            )
            GROUP BY ALL
            HAVING sum(amount) <> 0
        )
        """,
        [org_simulator.org.default_workspace_id],
    )
    assert mismatched_cells == 0
    # each share is within one 1e-14 USD unit of its exact proportional share
    assert scalar(
        warehouse,
        "SELECT count(*) FROM marts.cost_allocation WHERE allocation_status = 'allocated' AND "
        "abs(CAST(cost_usd * 100000000000000 AS HUGEINT) * cell_tokens "
        "    - CAST(cell_cost_usd * 100000000000000 AS HUGEINT) * tokens) >= cell_tokens",
    ) == 0
    assert scalar(warehouse, "SELECT count(*) FROM marts.cost_allocation WHERE tokens < cell_tokens") > 0  # real splits
    assert dict(query(
        warehouse, "SELECT unallocated_reason, sum(cost_usd) FROM marts.cost_allocation WHERE allocation_status = 'unallocated' GROUP BY ALL"
    )) == dict(query(
        warehouse, "SELECT cost_type, sum(amount_usd) FROM raw.cost_report WHERE cost_type <> 'tokens' GROUP BY ALL"
    ))


def test_users_plus_unattributed_equal_the_bill_per_day_and_workspace(org_simulator, warehouse):
    assert scalar(
        warehouse,
        """
        WITH bill AS (
            SELECT bucket_start::DATE AS date, coalesce(workspace_id, ?) AS workspace_id, sum(amount_usd) AS billed
            FROM raw.cost_report GROUP BY ALL
        ), people AS (
            SELECT date, workspace_id, sum(cost_usd) AS attributed FROM marts.user_daily_cost GROUP BY ALL
        )
        SELECT count(*) FROM bill FULL JOIN people USING (date, workspace_id) WHERE attributed IS DISTINCT FROM billed
        """,
        [org_simulator.org.default_workspace_id],
    ) == 0
    reasons = {reason for (reason,) in query(warehouse, "SELECT DISTINCT unattributed_reason FROM marts.user_daily_cost")}
    assert reasons == {None, "service_account", "console", "key_owned_by_service_account", "key_without_owner",
                       "web_search", "code_execution", "session_usage"}
    assert scalar(warehouse, "SELECT count(*) FROM marts.user_daily_cost WHERE (user_id IS NULL) = (unattributed_reason IS NULL)") == 0


def test_top_10_users_this_month_are_the_simulators_exact_split(org_simulator, warehouse):
    expected = sorted(expected_user_costs(org_simulator.org, date(2026, 11, 1), LAST).items(), key=lambda kv: -kv[1])[:10]
    rows = query(warehouse, readme_query("Top 10 users this month"))
    assert [email for email, _, _ in rows] == [email for email, _ in expected]
    for (_, _, cost), (_, exact) in zip(rows, expected):
        assert abs(Fraction(cost) - exact) < Fraction(1, 10**10)  # each allocation is exact to 1e-14 USD
    names = {user.email: user.name for user in org_simulator.org.cast.users}
    assert [name for _, name, _ in rows] == [names[email] for email, _ in expected]


# ##### TESTS: keys, models, Claude Code, dimensions


def test_api_key_daily_usage_counts_tokens_and_names_keys_and_owners_as_of_the_day(org_simulator, warehouse):
    for column in ("cache_read_input_tokens", "output_tokens", "web_search_requests"):
        assert scalar(warehouse, f"SELECT sum({column}) FROM marts.api_key_daily_usage") == scalar(
            warehouse, f"SELECT sum({column}) FROM raw.messages_usage"
        )
    assert scalar(warehouse, "SELECT sum(allocated_cost_usd) FROM marts.api_key_daily_usage") == scalar(
        warehouse, "SELECT sum(cost_usd) FROM marts.cost_allocation WHERE allocation_status = 'allocated'"
    )
    cast = org_simulator.org.cast
    key = next(k for k in cast.api_keys if k.name == "prod-backend")
    owner = next(u for u in cast.users if u.id == key.created_by.id)
    assert query(
        warehouse,
        "SELECT DISTINCT api_key_name, api_key_status, owner_type, owner_email FROM marts.api_key_daily_usage WHERE api_key_id = ?",
        [key.id],
    ) == [("prod-backend", "active", "user", owner.email)]
    assert scalar(warehouse, "SELECT count(*) FROM marts.api_key_daily_usage WHERE api_key_id IS NOT NULL AND api_key_name IS NULL") == 0


def test_model_daily_usage_estimates_cache_savings_from_the_price_table(warehouse):
    day, tier = date(2026, 11, 10), "standard"
    model = scalar(warehouse, "SELECT max(model) FROM raw.messages_usage WHERE cache_read_input_tokens > 0")
    prices = load_price_table()
    savings = Decimal(0)
    for geo, cache_reads in query(
        warehouse,
        "SELECT inference_geo, sum(cache_read_input_tokens) FROM raw.messages_usage "
        "WHERE bucket_start::DATE = ? AND model = ? AND service_tier = ? GROUP BY ALL",
        [day, model, tier],
    ):
        saved_per_mtok = prices.price_per_mtok(model, "uncached_input_tokens", day, tier, geo) - prices.price_per_mtok(
            model, "cache_read_input_tokens", day, tier, geo
        )
        savings += cache_reads * saved_per_mtok / 1_000_000
    row = query(
        warehouse,
        "SELECT estimated_cache_read_savings_usd, cache_hit_ratio, cache_read_input_tokens, "
        "uncached_input_tokens + cache_creation_5m_input_tokens + cache_creation_1h_input_tokens + cache_read_input_tokens "
        "FROM marts.model_daily_usage WHERE date = ? AND model = ? AND service_tier = ?",
        [day, model, tier],
    )
    (estimated_savings, hit_ratio, cache_reads, input_tokens), = row
    assert savings > 0 and estimated_savings == savings
    assert hit_ratio == pytest.approx(cache_reads / input_tokens)
    assert scalar(warehouse, "SELECT sum(output_tokens) FROM marts.model_daily_usage") == scalar(
        warehouse, "SELECT sum(output_tokens) FROM raw.messages_usage"
    )
    assert scalar(warehouse, "SELECT sum(unpriced_tokens) FROM marts.model_daily_usage") == 0


def test_claude_code_is_matched_to_people_and_never_added_to_billed_totals(org_simulator, warehouse):
    assert scalar(warehouse, "SELECT sum(sessions) FROM marts.claude_code_user_daily") == scalar(
        warehouse, "SELECT sum(num_sessions) FROM raw.claude_code_usage"
    )
    assert scalar(warehouse, "SELECT sum(estimated_cost_usd) FROM marts.claude_code_user_daily") == scalar(
        warehouse, "SELECT sum(estimated_cost_usd) FROM raw.claude_code_model_usage"
    ) > 0
    assert dict(query(
        warehouse, "SELECT match_status, count(DISTINCT actor) FROM marts.claude_code_user_daily WHERE date >= ? GROUP BY ALL",
        [FIRST],
    )) == {
        "user_by_email": len(org_simulator.org.cast.claude_code_users),
        "api_key_by_name": len(org_simulator.org.cast.claude_code_keys),
    }
    # a key's name from before the entity history began cannot be matched (ci-pipeline was ci-bot then)
    assert query(warehouse, "SELECT DISTINCT actor FROM marts.claude_code_user_daily WHERE match_status = 'unmatched'") == [
        ("ci-bot",)
    ]
    maria = next(user for user, email in org_simulator.org.cast.claude_code_users if email != email.lower() and "Maria" in email)
    assert query(
        warehouse, "SELECT DISTINCT user_id, user_name FROM marts.claude_code_user_daily WHERE actor = lower(?)",
        [maria.email],
    ) == [(maria.id, maria.name)]
    by_tool = scalar(warehouse, "SELECT by_tool FROM marts.claude_code_user_daily WHERE by_tool IS NOT NULL LIMIT 1")
    assert all(tool["acceptance_rate"] == tool["accepted"] / (tool["accepted"] + tool["rejected"]) for tool in by_tool)
    billed = scalar(warehouse, "SELECT sum(amount_usd) FROM raw.cost_report")
    for mart in ("marts.workspace_daily_cost", "marts.user_daily_cost", "marts.cost_allocation"):
        assert scalar(warehouse, f"SELECT sum(cost_usd) FROM {mart}") == billed, mart


def test_dimensions_resolve_names_as_of_any_date(org_simulator, warehouse_copy):
    key = next(k for k in org_simulator.org.cast.api_keys if k.name == "prod-backend")
    execute(warehouse_copy, f"""
        UPDATE raw.api_keys SET valid_from = TIMESTAMPTZ '2026-11-01 00:00:00+00', valid_to = TIMESTAMPTZ '2026-11-10 00:00:00+00',
            is_current = false WHERE id = '{key.id}';
        INSERT INTO raw.api_keys SELECT * REPLACE ('prod-backend-v2' AS name, md5('v2') AS row_hash,
            TIMESTAMPTZ '2026-11-10 00:00:00+00' AS valid_from, NULL AS valid_to, true AS is_current)
        FROM raw.api_keys WHERE id = '{key.id}'""")
    materialize_marts(warehouse_copy)
    names = dict(query(warehouse_copy, "SELECT date, api_key_name FROM marts.api_key_daily_usage WHERE api_key_id = ? "
                                       "AND date IN ('2026-11-09', '2026-11-10')", [key.id]))
    assert names == {date(2026, 11, 9): "prod-backend", date(2026, 11, 10): "prod-backend-v2"}
    assert scalar(warehouse_copy, "SELECT count(*) FROM marts.dim_api_keys WHERE api_key_id = ?", [key.id]) == 2
    default = org_simulator.org.cast.default_workspace
    assert query(warehouse_copy, "SELECT workspace_id, workspace_name FROM marts.dim_workspaces WHERE is_default") == [
        (default.id, default.name)
    ]
    assert scalar(warehouse_copy, "SELECT bool_and(has_list_price) FROM marts.dim_models WHERE last_used_on IS NOT NULL")


# ##### TESTS: reconciliation, spend signals, checks


def test_reconciliation_explains_the_difference_exactly_and_leaves_nothing_unexplained(warehouse):
    assert scalar(
        warehouse,
        "SELECT count(*) FROM marts.cost_reconciliation WHERE difference_usd <> web_search_usd + code_execution_usd "
        "+ session_usage_usd - priority_tier_usd_estimated + unexplained_usd",
    ) == 0
    assert scalar(warehouse, "SELECT count(*) FROM marts.cost_reconciliation WHERE unexplained_usd <> 0") == 0
    assert scalar(warehouse, "SELECT sum(priority_tier_usd_estimated) FROM marts.cost_reconciliation") > 0
    assert scalar(warehouse, "SELECT sum(billed_usd) FROM marts.cost_reconciliation") == scalar(
        warehouse, "SELECT sum(amount_usd) FROM raw.cost_report"
    )
    assert scalar(warehouse, "SELECT sum(web_search_usd) FROM marts.cost_reconciliation") == scalar(
        warehouse, "SELECT sum(amount_usd) FROM raw.cost_report WHERE cost_type = 'web_search'"
    )


def test_spend_signals_give_month_to_date_and_a_run_rate_forecast(org_simulator, warehouse):
    org = org_simulator.org
    rows = query(
        warehouse,
        "SELECT workspace_id, month_to_date_usd, forecast_month_end_usd, is_anomaly FROM marts.workspace_spend_signals "
        "WHERE date = ?",
        [LAST],
    )
    assert {workspace for workspace, *_ in rows} == {w.id for w in org.cast.workspaces}  # quiet ones at 0
    for workspace, month_to_date, forecast, is_anomaly in rows:
        assert month_to_date == org.expected_cost_cents(date(2026, 11, 1), LAST, workspace) / 100
        assert forecast == round(month_to_date * 30 / 20, 6)
        assert is_anomaly in (True, False)


def test_asset_checks_run_with_the_marts_and_pass_on_the_simulators_data(synced):
    _, result = synced
    evaluations = mart_check_evaluations(result)
    assert len(evaluations) == len(MART_CHECKS) == len(MART_TABLES) + 11
    assert failed_checks(result) == {}


def test_checks_fail_on_a_duplicate_and_on_an_allocation_that_no_longer_adds_up(warehouse_copy):
    execute(warehouse_copy, "INSERT INTO marts.cost_allocation SELECT * FROM marts.cost_allocation LIMIT 1")
    failed = failed_checks(materialize_marts(warehouse_copy, checks_only=True))
    assert set(failed) == {("marts/cost_allocation", "grain_is_unique"), ("marts/cost_allocation", "cost_allocation_sums_to_bill")}
    assert all(evaluation.severity == dg.AssetCheckSeverity.ERROR for evaluation in failed.values())
    assert failed[("marts/cost_allocation", "grain_is_unique")].metadata["violations"].value == 1


def test_checks_warn_about_spend_on_an_unknown_workspace_and_estimates_off_the_bill(warehouse_copy):
    execute(warehouse_copy, """
        INSERT INTO raw.cost_report SELECT * REPLACE ('wrkspc_01UnknownToEveryList' AS workspace_id,
            1250 AS amount_cents, 12.5 AS amount_usd)
        FROM raw.cost_report WHERE cost_type = 'tokens' AND bucket_start = '2026-11-12' LIMIT 1""")
    record_reload(warehouse_copy, "raw.cost_report", "2026-11-12")
    result = materialize_marts(warehouse_copy)
    failed = failed_checks(result)
    assert set(failed) == {("marts/cost_allocation", "unknown_ids"), ("marts/cost_reconciliation", "estimate_within_tolerance")}
    assert all(evaluation.severity == dg.AssetCheckSeverity.WARN for evaluation in failed.values())
    assert "wrkspc_01UnknownToEveryList" in failed[("marts/cost_allocation", "unknown_ids")].metadata["first_violations"].value
    assert scalar(
        warehouse_copy, "SELECT sum(cost_usd) FROM marts.user_daily_cost WHERE workspace_id = 'wrkspc_01UnknownToEveryList'"
    ) == Decimal("12.5")  # still counted, under its ID


def test_budgets_from_configuration_are_surfaced_as_check_warnings(org_simulator, warehouse_copy):
    research = next(w for w in org_simulator.org.cast.workspaces if w.name == "Research")
    result = materialize_marts(warehouse_copy, budgets={"Production": "1", research.id: "1000000"})
    failed = failed_checks(result)
    assert set(failed) == {("marts/workspace_spend_signals", "budgets")}
    assert failed[("marts/workspace_spend_signals", "budgets")].severity == dg.AssetCheckSeverity.WARN
    assert "Production" in failed[("marts/workspace_spend_signals", "budgets")].metadata["first_violations"].value
    assert query(
        warehouse_copy,
        "SELECT workspace_name, monthly_budget_usd, is_over_budget FROM marts.workspace_spend_signals "
        "WHERE date = ? AND monthly_budget_usd IS NOT NULL ORDER BY workspace_name",
        [LAST],
    ) == [("Production", Decimal(1), True), ("Research", Decimal(1000000), False)]


def test_every_scheduled_run_ends_with_the_marts_their_checks_and_a_publication(simulator, tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", DEMO_ADMIN_KEY)
    defs = build_definitions(settings_for(simulator, tmp_path / "scheduled.duckdb"))
    mart_keys = {asset_key(table.table) for table in MART_TABLES}
    for schedule in defs.schedules:
        selected = defs.resolve_job_def(schedule.job_name).asset_layer.selected_asset_keys
        assert mart_keys | {dg.AssetKey(["serving", "snapshot"])} <= selected, schedule.name

    instance = dg.DagsterInstance.ephemeral()
    results = []
    for schedule_name, at in (("snapshot_entities_daily", "02:10"), ("ingest_usage_and_cost_daily", "02:20")):
        schedule = defs.resolve_schedule_def(schedule_name)
        tick = schedule.evaluate_tick(
            dg.build_schedule_context(scheduled_execution_time=datetime.fromisoformat(f"2026-11-20T{at}:00+00:00"))
        )
        job = defs.resolve_job_def(schedule.job_name)
        results.append(job.execute_in_process(tags=tick.run_requests[0].tags, instance=instance, run_config=QUIET))
    result = results[-1]
    assert {event.asset_key for event in result.get_asset_materialization_events()} >= mart_keys
    assert len(mart_check_evaluations(result)) == len(MART_CHECKS)
    assert failed_checks(result) == {}
    path, serving = tmp_path / "scheduled.duckdb", tmp_path / "serving.duckdb"
    assert scalar(path, "SELECT sum(cost_usd) FROM marts.workspace_daily_cost") == scalar(
        path, "SELECT sum(amount_usd) FROM raw.cost_report"
    ) == simulator.org.expected_cost_cents(date(2026, 11, 16), LAST) / 100
    # Every mart materialization describes its columns; the run ends by publishing the serving copy.
    for materialization in result.asset_materializations_for_node("marts"):
        table = ".".join(materialization.asset_key.path)
        columns = [column.name for column in materialization.metadata["dagster/column_schema"].value.columns]
        assert columns == scalar(path, "SELECT list(column_name ORDER BY column_index) FROM duckdb_columns() "
                                       "WHERE schema_name || '.' || table_name = ?", [table]), table
    published = result.asset_materializations_for_node("serving__snapshot")[0].metadata
    assert published["serving_path"].value == str(serving)
    assert published["dagster/row_count"].value > 0 and published["tables"].value > len(MART_TABLES)
    assert scalar(serving, "SELECT sum(cost_usd) FROM marts.workspace_daily_cost") == scalar(
        path, "SELECT sum(cost_usd) FROM marts.workspace_daily_cost"
    )


# ##### TESTS: incremental builds


def failed_rows(evaluation: dg.AssetCheckEvaluation) -> list[dict[str, str]]:
    """The first violations a check listed (a Markdown table in its metadata) as dicts."""
    lines = [line.strip().strip("|").split("|") for line in evaluation.metadata["first_violations"].value.splitlines()]
    header = [cell.strip() for cell in lines[0]]
    return [dict(zip(header, (cell.strip() for cell in line), strict=True)) for line in lines[2:]]


def materialization_metadata(result: dg.ExecuteInProcessResult, table: str) -> dict:
    (event,) = [e for e in result.get_asset_materialization_events() if e.asset_key == asset_key(table)]
    return {name: value.value for name, value in event.materialization.metadata.items()}


def test_an_incremental_build_after_restated_days_equals_a_full_rebuild(warehouse_copy, tmp_path):
    # Two days restated by the API and loaded again: a day of this month costs more, and a day of
    # last month (already exported to FOCUS after its billing period) used more tokens.
    execute(warehouse_copy, """
        UPDATE raw.cost_report SET amount_usd = amount_usd * 2, amount_cents = amount_cents * 2
        WHERE CAST(bucket_start AS DATE) = DATE '2026-11-12' AND cost_type = 'tokens';
        UPDATE raw.messages_usage SET output_tokens = output_tokens + 1000
        WHERE CAST(bucket_start AS DATE) = DATE '2026-10-05'""")
    record_reload(warehouse_copy, "raw.cost_report", "2026-11-12")
    record_reload(warehouse_copy, "raw.messages_usage", "2026-10-05")
    result = materialize_marts(warehouse_copy)
    metadata = materialization_metadata(result, "marts.cost_allocation")
    assert (metadata["build"], metadata["days_rebuilt"]) == ("incremental", 2)
    # the doubled bill and the extra tokens no longer match at list price: a warning, on those days only
    failed = failed_checks(result)
    assert set(failed) == {("marts/cost_reconciliation", "estimate_within_tolerance")}
    assert {row["date"] for row in failed_rows(failed[("marts/cost_reconciliation", "estimate_within_tolerance")])} \
        == {"2026-10-05", "2026-11-12"}
    rechecked = {evaluation.metadata["days_checked"].value for evaluation in result.get_asset_check_evaluations()
                 if evaluation.check_name == "cost_allocation_sums_to_bill"}
    assert rechecked == {"the 2 day(s) rebuilt"}

    rebuilt = tmp_path / "rebuilt.duckdb"
    shutil.copy(warehouse_copy, rebuilt)
    with connect(rebuilt) as con:
        assert build_marts(con, full=True).is_full
    assert tables_that_differ(warehouse_copy, rebuilt, ("intermediate", "marts"), frozenset({"x_ExportedAt"})) == []
    assert scalar(warehouse_copy, "SELECT sum(cost_usd) FROM marts.workspace_daily_cost WHERE date = '2026-11-12'") == \
        scalar(warehouse_copy, "SELECT sum(amount_usd) FROM raw.cost_report WHERE CAST(bucket_start AS DATE) = '2026-11-12'")


def test_a_build_with_nothing_new_rewrites_no_day_and_an_entity_change_rebuilds_every_day(warehouse_copy):
    assert materialization_metadata(materialize_marts(warehouse_copy), "marts.user_daily_cost")["days_rebuilt"] == 0
    execute(warehouse_copy, "UPDATE raw.workspaces SET name = name || ' (renamed)' WHERE is_current")
    metadata = materialization_metadata(materialize_marts(warehouse_copy), "marts.user_daily_cost")
    assert metadata["build"] == "full" and "entity" in metadata["build_reason"]
    assert scalar(warehouse_copy, "SELECT bool_and(workspace_name LIKE '% (renamed)') FROM marts.workspace_daily_cost "
                                  "WHERE date = '2026-10-01' AND NOT is_default_workspace")


def test_an_incremental_build_never_hides_violations_on_days_it_did_not_rebuild(warehouse_copy):
    execute(warehouse_copy, "INSERT INTO marts.cost_allocation SELECT * FROM marts.cost_allocation "
                            "WHERE date = '2026-10-03' LIMIT 1")
    assert ("marts/cost_allocation", "grain_is_unique") in failed_checks(materialize_marts(warehouse_copy, checks_only=True))
    record_reload(warehouse_copy, "raw.cost_report", "2026-11-12")
    result = materialize_marts(warehouse_copy)
    assert materialization_metadata(result, "marts.cost_allocation")["build"] == "incremental"
    failed = failed_checks(result)
    assert failed[("marts/cost_allocation", "grain_is_unique")].metadata["days_checked"].value == "every day"
    assert failed[("marts/cost_allocation", "grain_is_unique")].metadata["violations"].value == 1


# ##### TESTS: FOCUS

# FOCUS 1.3 cost-and-usage columns this export provides, with their FOCUS data type. The mandatory
# ones (1.2's mandatory columns; 1.3 adds ServiceProviderName and HostProviderName and deprecates
# ProviderName and PublisherName, kept for 1.2 readers) and the conditional ones whose condition
# holds for Anthropic: sub accounts, usage measurement, unit prices, tags, regions, split allocation.
FOCUS_COLUMNS = {
    "Decimal": ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "PricingQuantity", "ConsumedQuantity",
                "ListUnitPrice", "ContractedUnitPrice"),
    "DateTime": ("BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd"),
    "String": ("BillingAccountId", "BillingAccountName", "BillingCurrency", "ChargeCategory", "ChargeClass",
               "ChargeDescription", "ChargeFrequency", "InvoiceIssuerName", "PricingCategory", "PricingUnit", "ConsumedUnit",
               "ProviderName", "PublisherName", "ServiceProviderName", "HostProviderName", "ServiceName", "ServiceCategory",
               "ServiceSubcategory", "SkuId", "SkuPriceId", "SkuMeter", "SubAccountId", "SubAccountName", "SubAccountType",
               "RegionId", "RegionName", "AllocatedMethodId", "AllocatedResourceId", "AllocatedResourceName", "InvoiceId"),
    "JSON": ("Tags", "AllocatedMethodDetails", "AllocatedTags", "SkuPriceDetails"),
}
DUCKDB_TYPES = {"Decimal": "DECIMAL", "DateTime": "TIMESTAMP WITH TIME ZONE", "String": "VARCHAR", "JSON": "JSON"}
NEVER_NULL = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "BillingAccountId", "BillingAccountName",
              "BillingCurrency", "BillingPeriodStart", "BillingPeriodEnd", "ChargeCategory", "ChargePeriodStart",
              "ChargePeriodEnd", "ChargeDescription", "InvoiceIssuerName", "ProviderName", "PublisherName",
              "ServiceProviderName", "HostProviderName", "ServiceName", "ServiceCategory", "ServiceSubcategory",
              "SubAccountId", "SubAccountName", "SubAccountType")
# not null on Usage charges that are not corrections
NOT_NULL_ON_USAGE = ("PricingQuantity", "PricingUnit", "PricingCategory", "ListUnitPrice", "ContractedUnitPrice",
                     "ConsumedQuantity", "ConsumedUnit", "SkuId", "SkuPriceId")


def test_focus_costs_meet_the_focus_1_3_column_requirements(org_simulator, warehouse):
    """FOCUS 1.3 rules for our columns, which focus-validator (FOCUS 1.2 model only, tests/test_focus_validator.py) cannot check."""
    types = dict(query(warehouse, "SELECT column_name, data_type FROM information_schema.columns "
                                  "WHERE table_schema = 'marts' AND table_name = 'focus_costs'"))
    for focus_type, columns in FOCUS_COLUMNS.items():
        for column in columns:
            assert types[column].startswith(DUCKDB_TYPES[focus_type]), column
    violations = {
        "never null": " OR ".join(f"{c} IS NULL" for c in NEVER_NULL),
        "usage not null": "ChargeClass IS NULL AND (" + " OR ".join(f"{c} IS NULL" for c in NOT_NULL_ON_USAGE) + ")",
        "allowed values": "ChargeCategory NOT IN ('Usage', 'Purchase', 'Tax', 'Credit', 'Adjustment') "
                          "OR coalesce(ChargeClass, 'Correction') <> 'Correction' "
                          "OR PricingCategory NOT IN ('Standard', 'Dynamic', 'Committed', 'Other') "
                          "OR ChargeFrequency NOT IN ('One-Time', 'Recurring', 'Usage-Based') "
                          "OR ServiceCategory <> 'AI and Machine Learning' OR ServiceSubcategory <> 'Generative AI' "
                          "OR BillingCurrency <> 'USD'",
        "periods": "ChargePeriodEnd <= ChargePeriodStart OR BillingPeriodEnd <= BillingPeriodStart "
                   "OR (ChargeClass IS NULL AND NOT (BillingPeriodStart <= ChargePeriodStart AND ChargePeriodEnd <= BillingPeriodEnd))",
        "unit prices": "ChargeClass IS NULL AND (ListCost <> ListUnitPrice * PricingQuantity "
                       "OR ContractedCost <> ContractedUnitPrice * PricingQuantity OR ListUnitPrice < 0)",
        "json objects": " OR ".join(f"({c} IS NOT NULL AND json_type({c}) <> 'OBJECT')" for c in FOCUS_COLUMNS["JSON"]),
        "allocation": "(AllocatedMethodId IS NULL) <> (AllocatedResourceId IS NULL) "
                      "OR (AllocatedMethodId IS NULL) <> (AllocatedMethodDetails IS NULL)",
    }
    for rule, condition in violations.items():
        assert scalar(warehouse, f"SELECT count(*) FROM marts.focus_costs WHERE {condition}") == 0, rule
    # the split ratios of each origin charge add up to 1
    assert scalar(warehouse, """
        SELECT max(abs(ratio - 1)) FROM (
            SELECT sum(CAST(AllocatedMethodDetails->'$.Elements[0].AllocatedRatio' AS DOUBLE)) AS ratio
            FROM marts.focus_costs WHERE AllocatedMethodId IS NOT NULL
            GROUP BY ChargePeriodStart, SubAccountId, SkuId, RegionId)""") < 1e-9
    assert scalar(warehouse, "SELECT sum(BilledCost) FROM marts.focus_costs") == scalar(
        warehouse, "SELECT sum(amount_usd) FROM raw.cost_report"
    )
    default = org_simulator.org.cast.default_workspace
    assert query(warehouse, "SELECT DISTINCT SubAccountName FROM marts.focus_costs WHERE SubAccountId = ?", [default.id]) == [
        (default.name,)
    ]
    tags = json.loads(scalar(warehouse, "SELECT Tags FROM marts.focus_costs WHERE AllocatedResourceId LIKE 'user_%' LIMIT 1"))
    assert {"anthropic/api_key_id", "anthropic/user_id", "anthropic/service_tier", "anthropic/inference_geo"} <= tags.keys()


def test_a_restated_day_of_a_closed_billing_period_is_exported_as_corrections(simulator, warehouse_copy, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", DEMO_ADMIN_KEY)
    restated_day = date(2026, 10, 15)  # October was over when the warehouse was first exported
    before = simulator.org.expected_cost_cents(restated_day, restated_day) / 100
    simulator.restate(restated_day)
    after = simulator.org.expected_cost_cents(restated_day, restated_day) / 100
    settings = settings_for(simulator, warehouse_copy)
    for _ in range(2):  # a second identical sync adds nothing
        run_sync(settings, SyncRange(restated_day, restated_day), entities=False, reports=("messages_usage", "cost_report"))
        by_class = dict(query(warehouse_copy, "SELECT coalesce(ChargeClass, 'original'), sum(BilledCost) FROM marts.focus_costs "
                                              "WHERE ChargePeriodStart = ? GROUP BY ALL", [restated_day]))
        assert by_class == {"original": before, "Correction": after - before}
    assert scalar(warehouse_copy, "SELECT bool_and(BillingPeriodStart > ChargePeriodStart) FROM marts.focus_costs "
                                  "WHERE ChargeClass = 'Correction'")
    assert scalar(warehouse_copy, "SELECT count(*) FROM marts.focus_costs WHERE ChargeClass = 'Correction' "
                                  "AND ChargePeriodStart <> ?", [restated_day]) == 0
    assert scalar(warehouse_copy, "SELECT sum(cost_usd) FROM marts.workspace_daily_cost WHERE date = ?", [restated_day]) == after
