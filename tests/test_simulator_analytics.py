"""The simulator's Usage and Cost Analytics API, over real HTTP on 127.0.0.1: the reference's traps
(beta header, limits, flat rows, no empty buckets, metric ordering, row-counting `limit` with cost
fan-out beyond it, unrendered identities as several null-actor rows) and agreement with the legacy
reports served from the same events. The ``simulator`` fixture pins now to 2026-11-20T12:00:00Z."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from admin_api_simulator import DEMO_ADMIN_KEY, Simulator
from admin_api_simulator.analytics_view import DISCOUNTS
from tests.test_simulator import iso, walk

BETA = "analytics-usage-cost-2026-08-24"
HEADERS = {"x-api-key": DEMO_ADMIN_KEY, "anthropic-version": "2026-10-21", "anthropic-beta": BETA}
USAGE = "/v1/organizations/analytics/usage"
COST = "/v1/organizations/analytics/cost"
LEGACY_USAGE = "/v1/organizations/usage_report/messages"
LEGACY_COST = "/v1/organizations/cost_report"
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
DAY = date(2026, 11, 19)
GROUP_KEYS = {
    "actor", "actor_type", "agent_id", "api_key_id", "claude_tag_category", "claude_tag_user_id", "context_window",
    "deployment_id", "environment_id", "inference_geo", "model", "organization_id", "product", "rbac_group_id",
    "service_tier", "session_id", "slack_channel_id", "speed", "user_profile_id", "workspace_id",
}
TOKENS = ("uncached_input_tokens", "cache_read_input_tokens", "output_tokens")


def daily(first: date, last: date, *group_by: str, **extra: str) -> list[tuple[str, str]]:
    """Daily buckets over [first, last], in time order, 1000 rows a page (``extra`` adds or replaces)."""
    scalars = {"starting_at": iso(first), "ending_at": iso(last + timedelta(days=1)), "time_bucket_width": "1d",
               "limit": "1000", "order_by": "time", "order": "asc"} | extra
    return [*scalars.items(), *(("group_by[]", g) for g in group_by)]


def total_tokens(usage: dict[str, Any]) -> int:
    cache = usage["cache_creation"]
    return (usage["uncached_input_tokens"] + usage["cache_read_input_tokens"] + usage["output_tokens"]
            + cache["ephemeral_5m_input_tokens"] + cache["ephemeral_1h_input_tokens"])


@pytest.fixture
def client(simulator: Simulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=simulator.base_url, headers=HEADERS, timeout=60) as http:
        yield http


def error_of(response: httpx.Response, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["type"] == "error" and body["request_id"].startswith("req_")
    return body["error"]


# --- headers, parameters, errors -----------------------------------------------------------------

def test_the_beta_header_is_required_and_both_versions_are_accepted(client):
    params = daily(DAY, DAY)
    no_beta = {"x-api-key": DEMO_ADMIN_KEY, "anthropic-version": "2026-10-21"}
    assert error_of(client.get(USAGE, params=params, headers={"anthropic-beta": ""} | no_beta))["type"] == \
        "invalid_request_error"
    with httpx.Client(base_url=str(client.base_url), headers=no_beta) as bare:
        assert BETA in error_of(bare.get(COST, params=params))["message"]
    for version in ("2023-06-01", "2026-10-21"):
        assert client.get(USAGE, params=params, headers={"anthropic-version": version}).status_code == 200
    both = f"fast-mode-2026-02-01, {BETA}"
    assert client.get(USAGE, params=params, headers={"anthropic-beta": both}).status_code == 200


@pytest.mark.parametrize("params", [
    [],                                                                                     # no starting_at
    [("starting_at", "2025-12-31T23:00:00Z"), ("ending_at", "2026-01-02T00:00:00Z")],       # before 2026
    [("starting_at", iso(DAY)), ("time_bucket_width", "1d")],                                # width without end
    [("starting_at", "2026-10-01T00:00:00Z"), ("ending_at", "2026-11-01T00:00:01Z"), ("time_bucket_width", "1d")],
    [("starting_at", "2026-11-18T00:00:00Z"), ("ending_at", "2026-11-19T00:01:00Z"), ("time_bucket_width", "1m")],
    [("starting_at", iso(DAY)), ("ending_at", iso(DAY)), ("time_bucket_width", "1d")],       # empty range
    [("starting_at", iso(DAY)), ("time_bucket_width", "1w"), ("ending_at", iso(DAY + timedelta(days=1)))],
    [("starting_at", iso(DAY)), *(("group_by[]", g) for g in ("model", "actor", "product", "speed",
                                                               "workspace_id", "api_key_id"))],
    [("starting_at", iso(DAY)), ("group_by[]", "description")],
    [("starting_at", iso(DAY)), ("group_by[]", "cost_type")],                                # cost only
    [("starting_at", iso(DAY)), ("order_by", "amount")],                                     # cost only
    [("starting_at", iso(DAY)), ("order", "up")],
    [("starting_at", iso(DAY)), ("limit", "0")],
    [("starting_at", iso(DAY)), ("limit", "1001")],
    [("starting_at", iso(DAY)), ("service_tiers[]", "turbo")],
    [("starting_at", iso(DAY)), ("products[]", "console")],
    [("starting_at", iso(DAY)), ("group_by", "model")],                                      # no [] suffix
    [("starting_at", iso(DAY)), ("exclude_deleted_users", "true")],                          # needs actor
    [("starting_at", iso(DAY)), ("page", "page_bm90LWEtY3Vyc29y")],
])
def test_invalid_parameters_are_400(client, params):
    assert error_of(client.get(USAGE, params=params))["type"] == "invalid_request_error"


def test_history_is_limited_to_the_last_365_days():
    later = datetime(2027, 3, 1, tzinfo=UTC)
    with Simulator(now=later) as sim, httpx.Client(base_url=sim.base_url, headers=HEADERS) as http:
        too_old = http.get(USAGE, params=[("starting_at", "2026-02-28T00:00:00Z")])
        assert "365 days" in error_of(too_old)["message"]
        assert http.get(USAGE, params=[("starting_at", "2026-03-02T00:00:00Z")]).status_code == 200


def test_cost_allows_five_dimensions_plus_cost_type_and_token_type(client):
    group_by = ("workspace_id", "actor", "api_key_id", "model", "service_tier", "cost_type", "token_type")
    assert client.get(COST, params=daily(DAY, DAY, *group_by)).status_code == 200
    six = daily(DAY, DAY, *group_by, "product")
    assert error_of(client.get(COST, params=six))["type"] == "invalid_request_error"
    assert error_of(client.get(COST, params=daily(DAY, DAY, order_by="total_tokens")))


def test_documented_error_codes_are_in_the_details(client):
    error = error_of(client.get(USAGE, params=daily(DAY, DAY, **{"organization_ids[]": "org_child"})))
    assert error["details"] == {"error_code": "parent_organization_required"}


def test_a_cursor_is_bound_to_its_query(client):
    params = daily(DAY, DAY, "model", limit="1")
    body = client.get(USAGE, params=params).json()
    assert body["has_more"] and body["next_page"]
    changed = daily(DAY, DAY, "model", limit="2") + [("page", body["next_page"])]
    assert error_of(client.get(USAGE, params=changed))["type"] == "invalid_request_error"


# --- shape, ordering, paging --------------------------------------------------------------------

def test_refresh_lag_hours_puts_data_refreshed_at_behind_now_and_leaves_the_rows_alone(client):
    with Simulator(now=NOW, refresh_lag_hours=30) as lagging, \
            httpx.Client(base_url=lagging.base_url, headers=HEADERS, timeout=60) as http:
        for path in (USAGE, COST):
            params = daily(DAY - timedelta(days=1), DAY, "model")
            body = http.get(path, params=params).json()
            assert body["data_refreshed_at"] == iso(NOW - timedelta(hours=30))
            assert body["data"] == client.get(path, params=params).json()["data"]


def test_rows_are_flat_with_every_group_key_and_only_usage(client):
    body = client.get(USAGE, params=daily(DAY - timedelta(days=1), DAY, "model")).json()
    assert set(body) == {"data", "has_more", "next_page", "data_refreshed_at"}
    assert body["data_refreshed_at"] == iso(NOW)
    for row in body["data"]:
        assert set(row) == {"starting_at", "ending_at", "group", "usage"}
        assert set(row["group"]) == GROUP_KEYS
        assert all(value is None for key, value in row["group"].items() if key != "model")
        assert row["usage"]["total_tokens"] == total_tokens(row["usage"])
        assert isinstance(row["usage"]["requests"], int)
        assert row["usage"]["total_tokens"] > 0 or row["usage"]["requests"] > 0
    cost = client.get(COST, params=daily(DAY, DAY, "model")).json()["data"]
    assert all(set(row["group"]) == GROUP_KEYS | {"cost_type", "token_type"} for row in cost)
    assert all(row["cost"]["currency"] == "USD" and isinstance(row["cost"]["requests"], int) for row in cost)


def test_no_empty_buckets(client, simulator):
    key = next(k.id for k in simulator.org.cast.api_keys if k.name == "research-notebooks")
    params = [("starting_at", iso(DAY)), ("ending_at", iso(DAY + timedelta(days=1))), ("time_bucket_width", "1h"),
              ("api_key_ids[]", key), ("limit", "1000")]
    rows = client.get(USAGE, params=params).json()["data"]
    legacy = client.get(LEGACY_USAGE, params=[("starting_at", iso(DAY)), ("ending_at", iso(DAY + timedelta(days=1))),
                                               ("bucket_width", "1h"), ("api_key_ids[]", key)]).json()["data"]
    assert len(legacy) == 24
    assert sorted(r["starting_at"] for r in rows) == sorted(b["starting_at"] for b in legacy if b["results"])
    assert 0 < len(rows) < 24


def test_default_order_is_by_metric_across_buckets_and_time_order_pages_chronologically(client):
    first = DAY - timedelta(days=6)
    by_metric = client.get(USAGE, params=[(k, v) for k, v in daily(first, DAY, "model") if k not in ("order_by", "order")]).json()["data"]
    totals = [r["usage"]["total_tokens"] for r in by_metric]
    assert totals == sorted(totals, reverse=True)
    assert [r["starting_at"] for r in by_metric] != sorted(r["starting_at"] for r in by_metric)
    by_time = walk(client, USAGE, daily(first, DAY, "model", limit="5"))
    starts = [r["starting_at"] for r in by_time]
    assert starts == sorted(starts) and len(set(starts)) == 7
    for start in set(starts):
        in_bucket = [r["usage"]["total_tokens"] for r in by_time if r["starting_at"] == start]
        assert in_bucket == sorted(in_bucket, reverse=True)
    assert sorted(map(str, by_time)) == sorted(map(str, by_metric))


def test_limit_counts_rows_and_paging_returns_each_row_once(client):
    params = daily(DAY - timedelta(days=2), DAY, "model", "service_tier")
    everything = client.get(USAGE, params=params).json()["data"]
    pages = walk(client, USAGE, [(k, "7" if k == "limit" else v) for k, v in params])
    assert len(everything) > 7 and pages == everything
    assert len(client.get(USAGE, params=[(k, "7" if k == "limit" else v) for k, v in params]).json()["data"]) == 7


def test_cost_fan_out_rows_do_not_count_toward_limit(client):
    params = daily(DAY, DAY, "workspace_id", "cost_type", "token_type", limit="2")
    body = client.get(COST, params=params).json()
    combinations = {r["group"]["workspace_id"] for r in body["data"]}
    assert len(combinations) == 2 and len(body["data"]) > 2 and body["has_more"]
    assert all(r["cost"]["requests"] is None for r in body["data"])
    assert {r["group"]["cost_type"] for r in body["data"]} >= {"tokens"}
    assert all((r["group"]["token_type"] is None) == (r["group"]["cost_type"] != "tokens") for r in body["data"])
    fanned = walk(client, COST, params)
    whole = walk(client, COST, daily(DAY, DAY, "workspace_id"))
    assert sum(Decimal(r["cost"]["amount"]) for r in fanned) == sum(Decimal(r["cost"]["amount"]) for r in whole)
    assert all(isinstance(r["cost"]["requests"], int) for r in whole)


def test_without_a_bucket_width_bounds_round_down_to_the_hour(client):
    params = [("starting_at", "2026-11-19T12:30:00Z"), ("ending_at", "2026-11-19T15:45:00Z"), ("group_by[]", "model"),
              ("limit", "1000")]
    rows = client.get(USAGE, params=params).json()["data"]
    assert rows and {(r["starting_at"], r["ending_at"]) for r in rows} == {("2026-11-19T12:00:00Z", "2026-11-19T15:00:00Z")}
    assert len({r["group"]["model"] for r in rows}) == len(rows)


# --- actors, identities, dimensions -------------------------------------------------------------

def test_unrendered_identities_are_several_null_actor_rows_that_sum_to_the_total(client):
    rows = walk(client, USAGE, daily(DAY, DAY, "workspace_id", "actor"))
    groups = Counter(tuple(sorted((k, str(v)) for k, v in r["group"].items())) for r in rows)
    assert any(count > 1 for group, count in groups.items() if dict(group)["actor"] == "None")
    [whole] = client.get(USAGE, params=daily(DAY, DAY)).json()["data"]
    assert sum(r["usage"]["total_tokens"] for r in rows) == whole["usage"]["total_tokens"]
    assert sum(r["usage"]["requests"] for r in rows) == whole["usage"]["requests"]


def test_actor_union_matches_the_legacy_identity_dimensions(client, simulator):
    rows = walk(client, USAGE, daily(DAY, DAY, "actor", "actor_type"))
    kinds = {r["group"]["actor"]["type"] for r in rows if r["group"]["actor"]}
    assert kinds == {"user_actor", "service_account_actor", "federated_actor", "api_actor"}
    for row in rows:
        actor = row["group"]["actor"]
        if actor is None:
            continue
        assert row["group"]["actor_type"] == actor["type"]
        if actor["type"] == "user_actor":
            assert actor["user_id"].startswith("user_") and actor["email_address"] and actor["deleted"] is False
        if actor["type"] == "federated_actor":
            assert actor["provider"]["type"] in {"aws", "gcp"} and actor["subject"]
    by_actor = defaultdict(int)
    for row in rows:
        actor = row["group"]["actor"] or {}
        by_actor[actor.get("user_id") or actor.get("service_account_id") or actor.get("api_key_id")] += \
            row["usage"]["output_tokens"]
    legacy_params = [("starting_at", iso(DAY)), ("ending_at", iso(DAY + timedelta(days=1))),
                     ("group_by[]", "account_id"), ("group_by[]", "service_account_id"), ("group_by[]", "api_key_id")]
    [bucket] = client.get(LEGACY_USAGE, params=legacy_params).json()["data"]
    legacy = defaultdict(int)
    for result in bucket["results"]:
        identity = result["account_id"] or result["service_account_id"] or result["api_key_id"]
        if identity:
            legacy[identity] += result["output_tokens"]
    assert legacy and all(by_actor[identity] == tokens for identity, tokens in legacy.items())


def test_filters_select_exactly_the_matching_rows(client, simulator):
    rows = walk(client, USAGE, daily(DAY, DAY, "workspace_id", "api_key_id", "model", "service_tier", "product"))
    default = simulator.org.default_workspace_id
    some_key = next(r["group"]["api_key_id"] for r in rows if r["group"]["api_key_id"])
    some_model = rows[0]["group"]["model"]
    cases = [
        ("workspace_ids[]", [default], lambda g: g["workspace_id"] == default),
        ("api_key_ids[]", [some_key, ""], lambda g: g["api_key_id"] in (some_key, None)),
        ("models[]", [some_model], lambda g: g["model"] == some_model),
        ("service_tiers[]", ["priority"], lambda g: g["service_tier"] == "priority"),
        ("products[]", ["claude_code"], lambda g: g["product"] == "claude_code"),
    ]
    for name, values, matches in cases:
        params = daily(DAY, DAY, "workspace_id", "api_key_id", "model", "service_tier", "product")
        filtered = walk(client, USAGE, params + [(name, v) for v in values])
        expected = [r for r in rows if matches(r["group"])]
        assert filtered and sorted(map(str, filtered)) == sorted(map(str, expected)), name
    users = walk(client, USAGE, daily(DAY, DAY, "actor", **{"actor_types[]": "user_actor"}))
    assert users and all(r["group"]["actor"]["type"] == "user_actor" for r in users)
    one = users[0]["group"]["actor"]["user_id"]
    assert {r["group"]["actor"]["user_id"] for r in walk(client, USAGE, daily(DAY, DAY, "actor", **{"actor_ids[]": one}))} == {one}


def test_dimension_values_of_a_console_org(client, simulator):
    rows = walk(client, USAGE, daily(DAY, DAY, "workspace_id", "product", "inference_geo", "service_tier", "speed"))
    assert {r["group"]["inference_geo"] for r in rows} <= {"global", "us", None}
    products = {r["group"]["product"] for r in rows}
    assert {"messages_api", "message_batches_api", "claude_code", None} <= products
    assert products <= {"messages_api", "message_batches_api", "claude_code", "managed_agents_api", None}
    assert all(r["group"]["service_tier"] == "batch" for r in rows if r["group"]["product"] == "message_batches_api")
    code_execution = [r for r in rows if r["group"]["product"] is None]
    assert all(r["usage"]["total_tokens"] == 0 and r["usage"]["requests"] > 0 for r in code_execution)
    default = simulator.org.default_workspace_id
    assert default in {r["group"]["workspace_id"] for r in rows} and None not in {r["group"]["workspace_id"] for r in rows}
    listed = client.get("/v1/organizations/workspaces", params={"include_default": "true"}).json()["data"]
    assert default in {w["id"] for w in listed}
    assert default not in {w["id"] for w in client.get("/v1/organizations/workspaces").json()["data"]}


# --- agreement with the legacy reports, discounts, Priority Tier --------------------------------

def test_usage_agrees_with_the_legacy_usage_report(client, simulator):
    rows = walk(client, USAGE, daily(DAY, DAY, "workspace_id"))
    [bucket] = client.get(LEGACY_USAGE, params=[("starting_at", iso(DAY)), ("ending_at", iso(DAY + timedelta(days=1))),
                                                 ("group_by[]", "workspace_id")]).json()["data"]
    legacy = {r["workspace_id"] or simulator.org.default_workspace_id: r for r in bucket["results"]}
    assert {r["group"]["workspace_id"] for r in rows} == set(legacy)
    for row in rows:
        old = legacy[row["group"]["workspace_id"]]
        assert all(row["usage"][m] == old[m] for m in TOKENS)
        assert row["usage"]["cache_creation"] == old["cache_creation"]


def test_cost_list_amount_is_the_legacy_bill_plus_priority_tier(client, simulator):
    rows = walk(client, COST, daily(DAY, DAY, "workspace_id", "service_tier"))
    [bucket] = client.get(LEGACY_COST, params=[("starting_at", iso(DAY)), ("ending_at", iso(DAY + timedelta(days=1))),
                                                ("group_by[]", "workspace_id")]).json()["data"]
    legacy = {r["workspace_id"] or simulator.org.default_workspace_id: Decimal(r["amount"]) for r in bucket["results"]}
    without_priority = defaultdict(Decimal)
    for row in rows:
        if row["group"]["service_tier"] != "priority":
            without_priority[row["group"]["workspace_id"]] += Decimal(row["cost"]["list_amount"])
    assert dict(without_priority) == legacy
    assert sum(Decimal(r["cost"]["amount"]) for r in rows if r["group"]["service_tier"] == "priority") > 0


def test_list_minus_billed_per_model_is_the_discount(client, simulator):
    rows = walk(client, COST, daily(DAY, DAY, "model"))
    [discounted] = DISCOUNTS
    for row in rows:
        model = row["group"]["model"]
        difference = (Decimal(row["cost"]["list_amount"]) - Decimal(row["cost"]["amount"])) / 100
        assert difference == (simulator.discount_usd(model, DAY) if model else 0)
        assert (difference > 0) == (model == discounted)
    assert discounted in {r["group"]["model"] for r in rows}


# --- organization kinds -------------------------------------------------------------------------

def test_hipaa_ready_and_unavailable_organizations():
    with Simulator(now=NOW, hipaa_ready=True) as sim, httpx.Client(base_url=sim.base_url, headers=HEADERS) as http:
        assert "HIPAA" in error_of(http.get(COST, params=daily(DAY, DAY)))["message"]
        assert http.get(LEGACY_COST, params=[("starting_at", iso(DAY))]).status_code == 200
    with Simulator(now=NOW, analytics_available=False) as sim, httpx.Client(base_url=sim.base_url, headers=HEADERS) as http:
        assert error_of(http.get(USAGE, params=daily(DAY, DAY)), 404)["type"] == "not_found_error"


def test_enterprise_organization():
    with Simulator(now=NOW, org_type="enterprise") as sim, httpx.Client(base_url=sim.base_url, headers=HEADERS) as http:
        assert http.get("/v1/organizations/me").status_code == 200
        for path in ("/v1/organizations/users", "/v1/organizations/workspaces", LEGACY_USAGE):
            assert error_of(http.get(path, params={"starting_at": iso(DAY)}), 403)["type"] == "permission_error"
        rows = walk(http, USAGE, daily(DAY, DAY, "workspace_id", "product", "actor"))
        assert {r["group"]["workspace_id"] for r in rows} == {None}
        assert {r["group"]["product"] for r in rows} - {None} == {"chat", "claude_code", "cowork"}
        actors = [r["group"]["actor"] for r in rows]
        assert all(a["type"] == "user_actor" and a["email_address"] for a in actors)
        assert any(a["name"] for a in actors)
        assert walk(http, COST, daily(DAY, DAY, "actor"))


def test_a_year_of_daily_rows_of_the_benchmark_org_is_served_in_reasonable_time():
    """The benchmark organization (200 rows per hour): a 31-day window of the loader's heaviest
    query, paged in full; a year is twelve such windows."""
    with Simulator(now=NOW, usage_rows_per_hour=200) as sim, httpx.Client(base_url=sim.base_url, headers=HEADERS,
                                                                            timeout=120) as http:
        started = datetime.now(UTC)
        rows = walk(http, COST, daily(DAY - timedelta(days=30), DAY, "workspace_id", "actor", "api_key_id", "model",
                                      "service_tier", "cost_type", "token_type"))
        assert rows and datetime.now(UTC) - started < timedelta(seconds=60)
