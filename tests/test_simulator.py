"""Fidelity tests for the Admin API simulator, over real HTTP on 127.0.0.1.

The simulator fixture pins ``now`` to 2026-11-20T12:00:00Z.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from admin_api_simulator import DEMO_ADMIN_KEY, MALFORMED_KINDS, Faults, Simulator
from admin_api_simulator.prices import load_price_table

HEADERS = {"x-api-key": DEMO_ADMIN_KEY, "anthropic-version": "2023-06-01"}
MESSAGES = "/v1/organizations/usage_report/messages"
COST = "/v1/organizations/cost_report"
CLAUDE_CODE = "/v1/organizations/usage_report/claude_code"
USERS = "/v1/organizations/users"
DAY = date(2026, 11, 19)
DIMENSIONS = {"account_id", "api_key_id", "service_account_id", "workspace_id", "model",
              "service_tier", "context_window", "inference_geo"}
METRIC_PATHS = {
    "uncached_input_tokens": ("uncached_input_tokens",),
    "cache_creation_5m_input_tokens": ("cache_creation", "ephemeral_5m_input_tokens"),
    "cache_creation_1h_input_tokens": ("cache_creation", "ephemeral_1h_input_tokens"),
    "cache_read_input_tokens": ("cache_read_input_tokens",),
    "output_tokens": ("output_tokens",),
    "web_search_requests": ("server_tool_use", "web_search_requests"),
}
TOKEN_TYPE_METRICS = {
    "uncached_input_tokens": "uncached_input_tokens",
    "output_tokens": "output_tokens",
    "cache_read_input_tokens": "cache_read_input_tokens",
    "cache_creation.ephemeral_5m_input_tokens": "cache_creation_5m_input_tokens",
    "cache_creation.ephemeral_1h_input_tokens": "cache_creation_1h_input_tokens",
}


def iso(moment: date | datetime) -> str:
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def metric(row: dict[str, Any], name: str) -> int:
    value: Any = row
    for key in METRIC_PATHS[name]:
        value = value[key]
    return value


def totals(buckets: list[dict[str, Any]]) -> dict[str, int]:
    return {name: sum(metric(r, name) for b in buckets for r in b["results"]) for name in METRIC_PATHS}


@pytest.fixture
def client(simulator: Simulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=simulator.base_url, headers=HEADERS, timeout=10) as http:
        yield http


def walk(client: httpx.Client, path: str, params: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Every item of a cursor-paginated report, following next_page until has_more is false."""
    items, page = [], None
    for _ in range(1000):
        response = client.get(path, params=params + ([("page", page)] if page else []))
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["data"]
        if not body["has_more"]:
            assert body["next_page"] is None
            return items
        page = body["next_page"]
    raise AssertionError("pagination did not end")


def day_params(day: date, *group_by: str) -> list[tuple[str, str]]:
    return [("starting_at", iso(day)), ("ending_at", iso(day + timedelta(days=1)))] + [("group_by[]", g) for g in group_by]


# --- usage report: limits, nulls, buckets -------------------------------------------------------

@pytest.mark.parametrize(
    ("width", "default", "maximum", "starting_at"),
    [
        ("1d", 7, 31, "2026-09-01T00:00:00Z"),
        ("1h", 24, 168, "2026-11-01T00:00:00Z"),
        ("1m", 60, 1440, "2026-11-18T00:00:00Z"),
    ],
)
def test_usage_limit_default_and_maximum_per_bucket_width(client, width, default, maximum, starting_at):
    params = [("starting_at", starting_at), ("bucket_width", width)]
    assert len(client.get(MESSAGES, params=params).json()["data"]) == default
    at_max = client.get(MESSAGES, params=params + [("limit", str(maximum))]).json()
    assert len(at_max["data"]) == maximum and at_max["has_more"] is True
    for bad in (maximum + 1, 0):
        response = client.get(MESSAGES, params=params + [("limit", str(bad))])
        assert response.status_code == 400
        assert response.json()["error"]["type"] == "invalid_request_error"


def test_cost_report_limits_and_only_daily_buckets(client):
    params = [("starting_at", "2026-09-01T00:00:00Z")]
    assert len(client.get(COST, params=params).json()["data"]) == 7
    assert len(client.get(COST, params=params + [("limit", "31")]).json()["data"]) == 31
    assert client.get(COST, params=params + [("limit", "32")]).status_code == 400
    assert client.get(COST, params=params + [("bucket_width", "1h")]).status_code == 400
    assert client.get(COST, params=params + [("group_by[]", "model")]).status_code == 400


def test_ungrouped_row_has_every_dimension_present_and_null(client):
    [bucket] = client.get(MESSAGES, params=day_params(DAY)).json()["data"]
    [row] = bucket["results"]
    assert DIMENSIONS <= row.keys() and "speed" not in row
    assert all(row[d] is None for d in DIMENSIONS)
    assert set(row["cache_creation"]) == {"ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens"}
    assert set(row["server_tool_use"]) == {"web_search_requests"}


def test_default_workspace_is_null_when_grouped_by_workspace(client, simulator):
    [bucket] = client.get(MESSAGES, params=day_params(DAY, "workspace_id")).json()["data"]
    workspace_ids = [r["workspace_id"] for r in bucket["results"]]
    assert None in workspace_ids
    assert simulator.org.default_workspace_id not in workspace_ids
    listed = client.get("/v1/organizations/workspaces", params={"include_archived": "true"}).json()["data"]
    assert {w for w in workspace_ids if w} <= {w["id"] for w in listed}
    assert all(r["model"] is None for r in bucket["results"])


def test_speed_needs_the_fast_mode_beta_and_only_then_is_a_key(client):
    params = day_params(DAY, "speed")
    assert client.get(MESSAGES, params=params).status_code == 400
    response = client.get(MESSAGES, params=params, headers={"anthropic-beta": "fast-mode-2026-02-01"})
    assert {r["speed"] for r in response.json()["data"][0]["results"]} == {"standard"}
    assert client.get(MESSAGES, params=day_params(DAY), headers={"anthropic-beta": "no-such-beta"}).status_code == 400


@pytest.mark.parametrize("params", [
    [("group_by[]", "colour")],
    [("group_by", "model")],
    [("service_tiers[]", "turbo")],
    [("bucket_width", "1w")],
    [("ending_at", "2026-11-18T00:00:00Z")],
    [("starting_at", "2026-11-19")],
])
def test_invalid_usage_parameters_are_400(client, params):
    base = {"starting_at": "2026-11-18T12:00:00Z"}
    base.update(params)
    response = client.get(MESSAGES, params=list(base.items()))
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_empty_buckets_are_returned(client):
    params = [("starting_at", "2024-12-30T00:00:00Z"), ("ending_at", "2025-01-02T00:00:00Z")]
    data = client.get(MESSAGES, params=params).json()["data"]
    assert [b["starting_at"] for b in data] == ["2024-12-30T00:00:00Z", "2024-12-31T00:00:00Z", "2025-01-01T00:00:00Z"]
    assert [bool(b["results"]) for b in data] == [False, False, True]


def test_nothing_at_or_after_now_and_the_current_bucket_is_partial(client, simulator):
    today = [("starting_at", "2026-11-20T00:00:00Z"), ("ending_at", "2026-11-21T00:00:00Z")]
    hourly = client.get(MESSAGES, params=today + [("bucket_width", "1h")]).json()
    assert len(hourly["data"]) == 12 and hourly["has_more"] is False  # now is 12:00
    daily = client.get(MESSAGES, params=today).json()["data"]
    assert client.get(MESSAGES, params=today[:1]).json()["data"] == daily  # no ending_at: up to now
    expected = simulator.org.expected_usage_totals(datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 11, 21, tzinfo=UTC))
    assert totals(daily) == totals(hourly["data"]) == expected


def test_minute_buckets_split_an_hour_exactly(client):
    hour = [("starting_at", "2026-11-19T10:00:00Z"), ("ending_at", "2026-11-19T11:00:00Z"), ("group_by[]", "model")]
    minutes = client.get(MESSAGES, params=hour + [("bucket_width", "1m")]).json()["data"]
    [hourly] = client.get(MESSAGES, params=hour + [("bucket_width", "1h")]).json()["data"]
    assert len(minutes) == 60
    by_model: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in (r for b in minutes for r in b["results"]):
        for name in METRIC_PATHS:
            by_model[row["model"]][name] += metric(row, name)
    assert by_model == {r["model"]: {n: metric(r, n) for n in METRIC_PATHS} for r in hourly["results"]}


def test_filters_select_exactly_the_grouped_rows(client):
    grouped = client.get(MESSAGES, params=day_params(DAY, "service_tier")).json()["data"]
    batch = next(r for r in grouped[0]["results"] if r["service_tier"] == "batch")
    filtered = client.get(MESSAGES, params=day_params(DAY) + [("service_tiers[]", "batch")]).json()["data"]
    assert totals(filtered) == {n: metric(batch, n) for n in METRIC_PATHS}


# --- pagination ---------------------------------------------------------------------------------

def test_pagination_walks_every_bucket_once(client, simulator):
    start, end = datetime(2026, 11, 15, tzinfo=UTC), datetime(2026, 11, 19, tzinfo=UTC)
    params = [("starting_at", iso(start)), ("ending_at", iso(end)), ("bucket_width", "1h"), ("limit", "7"),
              ("group_by[]", "model")]
    buckets = walk(client, MESSAGES, params)
    assert [b["starting_at"] for b in buckets] == [iso(start + timedelta(hours=h)) for h in range(96)]
    assert totals(buckets) == simulator.org.expected_usage_totals(start, end)


def test_a_page_token_is_bound_to_its_query(client):
    params = [("starting_at", "2026-11-01T00:00:00Z"), ("ending_at", "2026-11-19T00:00:00Z")]
    token = client.get(MESSAGES, params=params).json()["next_page"]
    assert client.get(MESSAGES, params=params + [("page", token)]).status_code == 200
    assert client.get(MESSAGES, params=params + [("group_by[]", "model"), ("page", token)]).status_code == 400
    assert client.get(COST, params=params + [("page", token)]).status_code == 400
    assert client.get(MESSAGES, params=params + [("page", "page_garbage")]).status_code == 400


def test_list_pagination_with_after_id_and_before_id(client):
    everything = client.get(USERS, params={"limit": 1000}).json()
    assert everything["has_more"] is False and len(everything["data"]) >= 8
    ids, after = [], None
    while True:
        page = client.get(USERS, params={"limit": 5, **({"after_id": after} if after else {})}).json()
        ids += [u["id"] for u in page["data"]]
        assert (page["first_id"], page["last_id"]) == (page["data"][0]["id"], page["data"][-1]["id"])
        if not page["has_more"]:
            break
        after = page["last_id"]
    assert ids == [u["id"] for u in everything["data"]]
    before = client.get(USERS, params={"limit": 2, "before_id": ids[4]}).json()
    assert [u["id"] for u in before["data"]] == ids[2:4] and before["has_more"] is True
    empty = client.get(USERS, params={"email": "nobody@nowhere.example"}).json()
    assert empty == {"data": [], "first_id": None, "last_id": None, "has_more": False}
    for limit in (0, 1001):
        assert client.get(USERS, params={"limit": limit}).status_code == 400


# --- cost report --------------------------------------------------------------------------------

def test_cost_amounts_are_decimal_cent_strings(client):
    [bucket] = client.get(COST, params=day_params(DAY, "workspace_id", "description")).json()["data"]
    amounts = [r["amount"] for r in bucket["results"]]
    assert all(isinstance(a, str) and re.fullmatch(r"\d+(\.\d+)?", a) for a in amounts)
    assert any("." in a for a in amounts)
    assert {r["currency"] for r in bucket["results"]} == {"USD"}
    non_token = [r for r in bucket["results"] if r["cost_type"] != "tokens"]
    assert {r["cost_type"] for r in non_token} == {"web_search", "code_execution", "session_usage"}
    token_fields = ("model", "token_type", "service_tier", "context_window", "inference_geo")
    assert all(r[k] is None for r in non_token for k in token_fields)
    descriptions = [(r["workspace_id"], r["description"]) for r in bucket["results"]]
    assert len(descriptions) == len(set(descriptions))


def test_token_cost_is_usage_times_list_price_exactly(client, simulator):
    prices = load_price_table()
    line_item = ("workspace_id", "model", "service_tier", "context_window", "inference_geo")
    usage = client.get(MESSAGES, params=day_params(DAY, *line_item))
    expected: dict[tuple, Decimal] = defaultdict(Decimal)
    web_search = Decimal(0)
    for row in usage.json()["data"][0]["results"]:
        if row["service_tier"] == "priority":
            continue
        for token_type, name in TOKEN_TYPE_METRICS.items():
            per_mtok = prices.price_per_mtok(row["model"], token_type, DAY, row["service_tier"], row["inference_geo"])
            key = (token_type, *(row[d] for d in line_item))
            expected[key] += metric(row, name) * per_mtok * 100 / 1_000_000
        web_search += metric(row, "web_search_requests") * prices.web_search_per_1k(row["model"], DAY) * 100 / 1000

    cost = client.get(COST, params=day_params(DAY, "workspace_id", "description")).json()["data"][0]["results"]
    billed = {
        (r["token_type"], *(r[d] for d in line_item)): Decimal(r["amount"]) for r in cost if r["cost_type"] == "tokens"
    }
    assert billed == {k: v for k, v in expected.items() if v}
    assert sum(Decimal(r["amount"]) for r in cost if r["cost_type"] == "web_search") == web_search
    assert sum(Decimal(r["amount"]) for r in cost) == simulator.org.expected_cost_cents(DAY, DAY)
    [ungrouped] = client.get(COST, params=day_params(DAY)).json()["data"][0]["results"]
    assert Decimal(ungrouped["amount"]) == simulator.org.expected_cost_cents(DAY, DAY)
    default_only = sum(Decimal(r["amount"]) for r in cost if r["workspace_id"] is None)
    assert default_only == simulator.org.expected_cost_cents(DAY, DAY, workspace_id=None)


def test_the_price_table_the_simulator_bills_with_is_effective_dated():
    prices = load_price_table()
    cache_read = "cache_read_input_tokens"
    assert prices.price_per_mtok("claude-sonnet-5-5", cache_read, date(2026, 10, 6)) == Decimal("0.20")
    assert prices.price_per_mtok("claude-sonnet-5-5", cache_read, date(2026, 10, 7)) == Decimal("0.10")
    assert prices.price_per_mtok("claude-opus-4-6", "output_tokens", DAY, "batch", "us") == Decimal("13.75")
    assert prices.display_name("claude-opus-4-6") == "Claude Opus 4.6"
    for model, day, tier in (("claude-nonexistent", DAY, "standard"), ("claude-opus-5", date(2025, 1, 1), "standard"),
                             ("claude-opus-5", DAY, "priority")):
        with pytest.raises(LookupError):
            prices.price_per_mtok(model, cache_read, day, tier)


def test_priority_tier_usage_has_no_cost(client):
    usage = client.get(MESSAGES, params=day_params(DAY, "service_tier")).json()["data"][0]["results"]
    assert any(r["service_tier"] == "priority" for r in usage)
    cost = client.get(COST, params=day_params(DAY, "description")).json()["data"][0]["results"]
    assert {r["service_tier"] for r in cost} == {"standard", "batch", None}


# --- Claude Code --------------------------------------------------------------------------------

def test_claude_code_report_pages_a_served_day(client, simulator):
    rows = walk(client, CLAUDE_CODE, [("starting_at", DAY.isoformat()), ("limit", "2")])
    assert len(rows) == simulator.org.expected_claude_code_rows(DAY) > 2
    assert {r["date"] for r in rows} == {"2026-11-19T00:00:00Z"}
    assert {r["actor"]["type"] for r in rows} == {"user_actor", "api_actor"}
    key_names = {k["name"] for k in client.get("/v1/organizations/api_keys").json()["data"]}
    assert {r["actor"]["api_key_name"] for r in rows if r["actor"]["type"] == "api_actor"} <= key_names
    assert all(isinstance(m["estimated_cost"]["amount"], int) for r in rows for m in r["model_breakdown"])
    assert all(r["customer_type"] == "api" and r["subscription_type"] is None for r in rows)


def test_claude_code_identities_and_availability(client, simulator):
    days = [DAY - timedelta(days=d) for d in range(1, 15)]
    rows = [r for d in days for r in walk(client, CLAUDE_CODE, [("starting_at", d.isoformat()), ("limit", "1000")])]
    emails = {r["actor"]["email_address"] for r in rows if r["actor"]["type"] == "user_actor"}
    assert any(e != e.lower() for e in emails)
    user_emails = {u["email"] for u in client.get(USERS, params={"limit": 1000}).json()["data"]}
    assert {e.lower() for e in emails} <= user_emails
    remote = defaultdict(set)
    for r in rows:
        remote[(r["date"], str(r["actor"]))].add(r["is_remote"])
    assert {True, False} in remote.values()
    today = client.get(CLAUDE_CODE, params={"starting_at": "2026-11-20"}).json()
    assert today == {"data": [], "has_more": False, "next_page": None}
    assert simulator.org.expected_claude_code_rows(date(2026, 11, 20)) == 0
    assert client.get(CLAUDE_CODE, params={"starting_at": "2026-11-19T00:00:00Z"}).status_code == 400


# --- entities -----------------------------------------------------------------------------------

def test_workspaces_hide_the_default_and_archived_unless_asked(client, simulator):
    active = client.get("/v1/organizations/workspaces").json()["data"]
    everything = client.get("/v1/organizations/workspaces", params={"include_archived": "true"}).json()["data"]
    assert simulator.org.default_workspace_id not in {w["id"] for w in everything}
    archived = [w for w in everything if w["archived_at"]]
    assert archived and all(w["archived_at"] is None for w in active)
    assert len(everything) == len(active) + len(archived)
    members = client.get(f"/v1/organizations/workspaces/{active[0]['id']}/members").json()["data"]
    assert members and all(m["type"] == "workspace_member" and m["workspace_id"] == active[0]["id"] for m in members)


def test_api_keys_come_in_both_shapes(client, simulator):
    keys = client.get("/v1/organizations/api_keys", params={"limit": 1000}).json()["data"]
    old, new = [k for k in keys if "principal" not in k], [k for k in keys if "principal" in k]
    assert old and new
    assert any(k["created_by"] is None for k in keys)
    assert any(k["workspace_id"] is None and k["created_by"] for k in old)
    default_scope = {"type": "workspace", "workspace_id": simulator.org.default_workspace_id}
    assert any(k["scope"] == default_scope and k["workspace_id"] is None for k in new)
    assert any((k["principal"] or {}).get("type") == "service_account_actor" for k in new)
    archived = client.get("/v1/organizations/api_keys", params={"status": "archived"}).json()["data"]
    assert [k["status"] for k in archived] == ["archived"]


# --- errors -------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("path", "headers", "status", "error_type"),
    [
        ("/v1/organizations/me", {"x-api-key": "sk-ant-admin01-wrong"}, 401, "authentication_error"),
        ("/v1/organizations/me", {"x-api-key": "sk-ant-api03-a-normal-key"}, 403, "permission_error"),
        ("/v1/organizations/nope", {}, 404, "not_found_error"),
        ("/v1/organizations/me", {"anthropic-version": None}, 400, "invalid_request_error"),
        ("/v1/organizations/service_accounts", {}, 403, "permission_error"),
    ],
)
def test_error_bodies(simulator, path, headers, status, error_type):
    sent = {k: v for k, v in {**HEADERS, **headers}.items() if v is not None}
    response = httpx.get(simulator.base_url + path, headers=sent)
    assert response.status_code == status
    body = response.json()
    assert body == {"type": "error", "error": {"type": error_type, "message": body["error"]["message"]},
                    "request_id": body["request_id"]}
    assert body["request_id"].startswith("req_") and response.headers["request-id"] == body["request_id"]
    assert response.headers["anthropic-organization-id"] == simulator.org.organization_id


def test_bearer_token_is_accepted(simulator):
    response = httpx.get(simulator.base_url + "/v1/organizations/me",
                         headers={"authorization": f"Bearer {DEMO_ADMIN_KEY}", "anthropic-version": "2023-06-01"})
    assert response.json()["id"] == simulator.org.organization_id


# --- faults -------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("kind", "status", "error_type"),
    [("429", 429, "rate_limit_error"), ("500", 500, "api_error"), ("529", 529, "overloaded_error")],
)
def test_transient_error_faults(client, simulator, kind, status, error_type):
    simulator.faults = Faults(rate=1.0, kinds=(kind,), retry_after=3)
    response = client.get("/v1/organizations/me")
    assert response.status_code == status and response.json()["error"]["type"] == error_type
    assert response.headers.get("retry-after") == ("3" if kind == "429" else None)
    assert simulator.stats.faults_injected[kind] == 1 and simulator.stats.by_status[status] == 1


def test_drop_and_slow_faults(client, simulator):
    simulator.faults = Faults(rate=1.0, kinds=("drop",))
    with pytest.raises(httpx.TransportError):
        client.get("/v1/organizations/me")
    simulator.faults = Faults(rate=1.0, kinds=("slow",), slow_seconds=0.3)
    started = time.monotonic()
    assert client.get("/v1/organizations/me").status_code == 200
    assert time.monotonic() - started >= 0.3
    assert simulator.stats.faults_injected == {"drop": 1, "slow": 1}


def test_spend_cap_is_a_429_without_retry_after(client, simulator):
    simulator.faults.spend_cap = True
    response = client.get("/v1/organizations/me")
    assert response.status_code == 429 and response.json()["error"]["type"] == "rate_limit_error"
    assert "retry-after" not in response.headers


def test_faults_only_hit_matching_path_and_day(client, simulator):
    simulator.faults = Faults(rate=1.0, kinds=("500",), match_path="usage_report/messages", match_day=DAY)
    assert client.get(COST, params=day_params(DAY)).status_code == 200
    assert client.get(MESSAGES, params=day_params(DAY - timedelta(days=1))).status_code == 200
    assert client.get(MESSAGES, params=day_params(DAY)).status_code == 500


@pytest.mark.parametrize("kind", MALFORMED_KINDS)
def test_malformed_responses(client, simulator, kind):
    params = [("starting_at", "2026-11-10T00:00:00Z"), ("ending_at", "2026-11-19T00:00:00Z"),
              ("group_by[]", "service_tier"), ("limit", "3")]
    clean = client.get(MESSAGES, params=params).json()
    simulator.faults = Faults(malformed=kind)
    response = client.get(MESSAGES, params=params)
    assert response.status_code == 200
    assert simulator.stats.faults_injected[kind] == 1
    if kind == "truncated_json":
        with pytest.raises(ValueError):
            response.json()
        return
    if kind == "html_200":
        assert response.headers["content-type"].startswith("text/html")
        return
    body = response.json()
    row, clean_row = body["data"][0]["results"][0], clean["data"][0]["results"][0]
    if kind == "string_number":
        assert row["output_tokens"] == str(clean_row["output_tokens"])
    elif kind == "missing_field":
        assert "uncached_input_tokens" not in row
    elif kind == "negative_tokens":
        assert row["output_tokens"] == -clean_row["output_tokens"] < 0
    elif kind == "unknown_enum":
        assert row["service_tier"] == "turbo"
    elif kind == "has_more_without_next_page":
        assert body["has_more"] is True and body["next_page"] is None
    elif kind == "repeating_next_page":
        second = client.get(MESSAGES, params=params + [("page", body["next_page"])]).json()
        assert second["next_page"] == body["next_page"] and second["has_more"] is True


def test_extra_field_and_unknown_enum_flags(client, simulator):
    simulator.faults = Faults(extra_field="brand_new", unknown_enum=True)
    users = client.get(USERS).json()["data"]
    assert all(u["brand_new"] == "surprise" and u["role"] == "astronaut" for u in users)
    [bucket] = client.get(COST, params=day_params(DAY, "description")).json()["data"]
    assert all(r["brand_new"] == "surprise" and r["cost_type"] == "carbon_offset" for r in bucket["results"])
    assert {r["service_tier"] for r in bucket["results"]} == {"turbo", None}


def test_transient_faults_do_not_disturb_pagination(client, simulator):
    params = [("starting_at", "2026-11-01T00:00:00Z"), ("ending_at", "2026-11-19T00:00:00Z"), ("limit", "2"),
              ("group_by[]", "model")]
    clean = walk(client, MESSAGES, params)
    simulator.faults = Faults(seed=3, rate=0.5, kinds=("429", "500", "529"))
    pages, page = [], None
    for _ in range(200):  # retry every injected fault; the walk itself is ~9 pages
        response = client.get(MESSAGES, params=params + ([("page", page)] if page else []))
        if response.status_code != 200:
            continue
        body = response.json()
        pages += body["data"]
        if not body["has_more"]:
            break
        page = body["next_page"]
    assert pages == clean
    assert sum(simulator.stats.faults_injected.values()) > 0


# --- restatement and determinism ----------------------------------------------------------------

def test_restate_changes_one_day_consistently(client, simulator):
    before = {d: client.get(MESSAGES, params=day_params(d)).json() for d in (DAY, DAY - timedelta(days=1))}
    cost_before = simulator.org.expected_cost_cents(DAY, DAY)
    claude_code_before = client.get(CLAUDE_CODE, params={"starting_at": DAY.isoformat(), "limit": 1000}).json()
    simulator.restate(DAY, factor=1.5)
    after = {d: client.get(MESSAGES, params=day_params(d)).json() for d in before}
    assert after[DAY - timedelta(days=1)] == before[DAY - timedelta(days=1)]
    old, new = totals(before[DAY]["data"]), totals(after[DAY]["data"])
    assert all(old[n] <= new[n] <= old[n] * 3 // 2 for n in old) and new["output_tokens"] > old["output_tokens"]
    [billed] = client.get(COST, params=day_params(DAY)).json()["data"][0]["results"]
    assert Decimal(billed["amount"]) == simulator.org.expected_cost_cents(DAY, DAY) > cost_before
    claude_code_after = client.get(CLAUDE_CODE, params={"starting_at": DAY.isoformat(), "limit": 1000}).json()
    assert len(claude_code_after["data"]) == len(claude_code_before["data"]) and claude_code_after != claude_code_before


def _responses(sim: Simulator) -> list[bytes]:
    requests = [
        (MESSAGES, day_params(DAY, "workspace_id", "model", "api_key_id")),
        (COST, day_params(DAY, "workspace_id", "description")),
        (CLAUDE_CODE, [("starting_at", DAY.isoformat())]),
        ("/v1/organizations/api_keys", []),
        ("/v1/organizations/nope", []),
    ]
    with httpx.Client(base_url=sim.base_url, headers=HEADERS) as http:
        return [http.get(path, params=params).content for path, params in requests]


def test_same_seed_gives_the_same_bytes():
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    with Simulator(seed=11, now=now) as first, Simulator(seed=11, now=now) as second, Simulator(seed=12, now=now) as other:
        assert _responses(first) == _responses(second)
        assert all(a != b for a, b in zip(_responses(first), _responses(other)))
