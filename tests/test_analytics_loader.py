"""The Usage and Cost Analytics API reports as the loader sees them, over real HTTP to a scripted server:
the beta header and time-ordered paging on every request, null-actor rows kept (numbered, never
overwritten), cost fan-out beyond `limit`, the per-day source choice and the 404 fallback."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import duckdb
import pytest

from pipelines.api import AdminApiClient, RetryPolicy
from pipelines.ingest import ingest_report
from pipelines.reports import REPORTS
from pipelines.reports.analytics_api import BETA, serves
from pipelines.reports.messages_usage import MessagesUsageOptions
from pipelines.reports.spec import NoOptions
from pipelines.sources import day_runs, days_to_load
from tests.scripted_server import ScriptedServer, json_reply

KEY = "sk-ant-admin01-analytics-loader-test-key"
ORG = {"id": "org-analytics", "name": "Analytics org", "type": "organization"}
REPORT = {report.name: report for report in REPORTS}
GROUP_KEYS = (
    "actor", "actor_type", "agent_id", "api_key_id", "claude_tag_category", "claude_tag_user_id", "context_window",
    "deployment_id", "environment_id", "inference_geo", "model", "organization_id", "product", "rbac_group_id",
    "service_tier", "session_id", "slack_channel_id", "speed", "user_profile_id", "workspace_id",
)


def group(**values) -> dict:
    return {key: None for key in GROUP_KEYS} | values


def usage(tokens: int) -> dict:
    return {
        "uncached_input_tokens": tokens, "cache_creation": {"ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": 0},
        "cache_read_input_tokens": 0, "output_tokens": tokens, "server_tool_use": {"web_search_requests": 0},
        "requests": 1, "total_tokens": 2 * tokens,
    }


def page(rows: list[dict], next_page: str | None = None) -> dict:
    return {"data": rows, "has_more": next_page is not None, "next_page": next_page,
            "data_refreshed_at": "2026-11-20T04:00:00Z"}


def bucket(day: str, next_day: str, group_values: dict, **metrics) -> dict:
    return {"starting_at": f"{day}T00:00:00Z", "ending_at": f"{next_day}T00:00:00Z", "group": group_values, **metrics}


@pytest.fixture
def server():
    with ScriptedServer() as scripted:
        yield scripted


def load(server: ScriptedServer, tmp_path, name: str, first: date, last: date, options=NoOptions()) -> str:
    """One report's ingest under the default source setting (auto), into tmp_path/warehouse.duckdb."""
    warehouse = str(tmp_path / "warehouse.duckdb")
    with AdminApiClient(KEY, server.url, retry=RetryPolicy(max_attempts=1)) as client:
        ingest_report(REPORT[name], [client], warehouse, first, last, options, source="auto")
    return warehouse


def test_usage_pages_in_time_order_with_the_beta_header_and_keeps_null_actor_rows_apart(server, tmp_path):
    unrendered = group(workspace_id="wrkspc_a", model="claude-sonnet-5")  # actor null: an identity not rendered
    user = group(workspace_id="wrkspc_a", model="claude-sonnet-5", actor_type="user_actor",
                 actor={"type": "user_actor", "user_id": "user_1", "email_address": "a@example.com", "name": "A",
                        "deleted": False})
    server.reply(
        json_reply(ORG),
        json_reply(page([bucket("2026-11-18", "2026-11-19", unrendered, usage=usage(5)),
                         bucket("2026-11-18", "2026-11-19", unrendered, usage=usage(7))], next_page="cursor-2")),
        json_reply(page([bucket("2026-11-19", "2026-11-20", user, usage=usage(11))])),
        json_reply(page([bucket("2026-11-18", "2026-11-19", group(workspace_id="wrkspc_a", product="messages_api"),
                                usage=usage(12))])),
    )
    warehouse = load(server, tmp_path, "analytics_usage", date(2026, 11, 18), date(2026, 11, 19))

    report_requests = server.requests[1:]
    assert [request.path for request in report_requests] == ["/v1/organizations/analytics/usage"] * 3
    for request in report_requests:
        assert BETA in request.headers["anthropic-beta"].split(",")
        assert (request.param("order_by"), request.param("order"), request.param("time_bucket_width")) == ("time", "asc", "1d")
        assert (request.param("starting_at"), request.param("ending_at")) == ("2026-11-18T00:00:00Z", "2026-11-20T00:00:00Z")
        assert request.param("limit") == "1000"
    assert [value for key, value in report_requests[0].query if key == "group_by[]"] == [
        "workspace_id", "api_key_id", "actor", "model", "service_tier"]
    assert report_requests[1].param("page") == "cursor-2"
    assert [value for key, value in report_requests[2].query if key == "group_by[]"] == [
        "workspace_id", "product", "model", "context_window", "inference_geo"]
    with duckdb.connect(warehouse, read_only=True) as con:
        rows = con.execute(
            "SELECT grouping, bucket_start::DATE::VARCHAR, actor_type, actor_id, row_ordinal, total_tokens "
            "FROM raw.analytics_usage ORDER BY ALL").fetchall()
        assert rows == [
            ("actor", "2026-11-18", None, None, 1, 10),
            ("actor", "2026-11-18", None, None, 2, 14),  # the second unrendered identity: kept, not overwritten
            ("actor", "2026-11-19", "user_actor", "user_1", 1, 22),
            ("product", "2026-11-18", None, None, 1, 24),
        ]
        assert con.execute("SELECT count(*) = count(DISTINCT (grouping, bucket_start, actor_id, row_ordinal, product)) "
                           "FROM raw.analytics_usage").fetchone() == (True,)
        assert con.execute("SELECT partition_date::VARCHAR, tokens, source FROM raw.load_log ORDER BY 1").fetchall() == [
            ("2026-11-18", 24, "analytics"), ("2026-11-19", 22, "analytics")]


def test_cost_rows_beyond_the_limit_load_exactly(server, tmp_path):
    rows = [bucket("2026-11-18", "2026-11-19",
                   group(workspace_id="wrkspc_a", actor_type="api_actor", actor={"type": "api_actor", "api_key_id": f"apikey_{i}"},
                         cost_type="tokens", token_type="output_tokens"),
                   cost={"amount": "1.25", "list_amount": "1.5", "currency": "USD", "requests": None})
            for i in range(1500)]  # cost_type/token_type fan-out: more rows than limit=1000
    server.reply(json_reply(ORG), json_reply(page(rows)), json_reply(page([])), json_reply(page([])))
    warehouse = load(server, tmp_path, "analytics_cost", date(2026, 11, 18), date(2026, 11, 18))
    assert [[value for key, value in request.query if key == "group_by[]"] for request in server.requests[1:]] == [
        ["workspace_id", "actor", "api_key_id", "model", "service_tier", "cost_type", "token_type"],
        ["workspace_id", "product", "model"],
        ["workspace_id", "actor", "api_key_id", "product"],  # grouping 'chargeback'
    ]
    with duckdb.connect(warehouse, read_only=True) as con:
        assert con.execute("SELECT count(*), sum(amount_usd), sum(list_amount_usd) FROM raw.analytics_cost").fetchone() == (
            1500, Decimal("18.75"), Decimal("22.5"))


def test_a_404_falls_back_to_the_legacy_report_for_every_day(server, tmp_path):
    server.reply(json_reply(ORG), json_reply({"type": "error", "error": {"type": "not_found_error", "message": "Not found"}},
                                             status=404))
    load(server, tmp_path, "analytics_usage", date(2026, 11, 18), date(2026, 11, 19))
    legacy_page = {"data": [{"starting_at": "2026-11-18T00:00:00Z", "ending_at": "2026-11-19T00:00:00Z", "results": []},
                            {"starting_at": "2026-11-19T00:00:00Z", "ending_at": "2026-11-20T00:00:00Z", "results": []}],
                   "has_more": False, "next_page": None}
    server.reset()
    server.reply(json_reply(ORG), json_reply(legacy_page))
    warehouse = load(server, tmp_path, "messages_usage", date(2026, 11, 18), date(2026, 11, 19),
                     MessagesUsageOptions("1d", group_by_speed=False))
    assert [request.path for request in server.requests] == ["/v1/organizations/me", "/v1/organizations/usage_report/messages"]
    with duckdb.connect(warehouse, read_only=True) as con:
        assert con.execute("SELECT fallback LIKE '%404%' FROM meta.analytics_status").fetchone() == (True,)
        assert con.execute("SELECT count(*), min(source), max(source) FROM raw.load_log "
                           "WHERE table_name = 'raw.messages_usage'").fetchone() == (2, "legacy", "legacy")


def test_each_day_has_exactly_one_source_across_the_2026_boundary():
    today = date(2026, 11, 20)
    first, last = date(2025, 12, 30), date(2026, 1, 2)
    analytics = days_to_load(REPORT["analytics_cost"], "auto", first, last, today, fell_back=False)
    legacy = days_to_load(REPORT["cost_report"], "auto", first, last, today, fell_back=False)
    assert analytics == [date(2026, 1, 1), date(2026, 1, 2)]
    assert legacy == [date(2025, 12, 30), date(2025, 12, 31)]
    assert days_to_load(REPORT["cost_report"], "auto", first, last, today, fell_back=True) == [
        date(2025, 12, 30), date(2025, 12, 31), date(2026, 1, 1), date(2026, 1, 2)]
    assert days_to_load(REPORT["analytics_cost"], "legacy", first, last, today, fell_back=False) == []
    assert days_to_load(REPORT["cost_report"], "analytics", first, last, today, fell_back=True) == []
    assert days_to_load(REPORT["claude_code_usage"], "analytics", first, last, today, fell_back=False) == legacy + analytics
    assert not serves(date(2026, 2, 1), date(2027, 2, 1)) and serves(date(2026, 2, 2), date(2027, 2, 1))  # 365 days
    assert day_runs([date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 5)]) == [
        (date(2026, 1, 1), date(2026, 1, 2)), (date(2026, 1, 5), date(2026, 1, 5))]
