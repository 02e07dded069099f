"""Tests for pipelines.normalize: API-shaped page bytes in, raw-table-shaped frames out."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import date, datetime, timezone
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.catalog import ensure_schema
from pipelines.normalize import (
    MalformedPage,
    SchemaDrift,
    decode_api_keys_page,
    decode_invites_page,
    decode_organization,
    decode_users_page,
    decode_workspace_members_page,
    decode_workspaces_page,
)
from pipelines.reports.claude_code_usage.decode import decode_claude_code_page
from pipelines.reports.cost_report.decode import decode_cost_report_page
from pipelines.reports.messages_usage.decode import decode_messages_usage_page

UTC = timezone.utc


# --- API-shaped pages ------------------------------------------------------------------------


def without(mapping: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: value for key, value in mapping.items() if key not in keys}


def usage_result(**fields: Any) -> dict[str, Any]:
    """A messages-usage result row as documented; every dimension present, null unless grouped."""
    return {
        "uncached_input_tokens": 1500,
        "cache_creation": {"ephemeral_5m_input_tokens": 500, "ephemeral_1h_input_tokens": 1000},
        "cache_read_input_tokens": 200,
        "output_tokens": 500,
        "server_tool_use": {"web_search_requests": 10},
        "account_id": None,
        "api_key_id": None,
        "service_account_id": None,
        "workspace_id": None,
        "model": "claude-opus-4-6",
        "service_tier": "standard",
        "context_window": "0-200k",
        "inference_geo": "global",
    } | fields


def cost_result(**fields: Any) -> dict[str, Any]:
    return {
        "amount": "123.78912",
        "currency": "USD",
        "workspace_id": "wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ",
        "description": "Claude Opus 4.6 Usage - Input Tokens",
        "cost_type": "tokens",
        "model": "claude-opus-4-6",
        "token_type": "uncached_input_tokens",
        "service_tier": "standard",
        "context_window": "0-200k",
        "inference_geo": "global",
    } | fields


def bucket(day: int, results: list[Any], **fields: Any) -> dict[str, Any]:
    return {
        "starting_at": f"2026-08-{day:02d}T00:00:00Z",
        "ending_at": f"2026-08-{day + 1:02d}T00:00:00Z",
        "results": results,
    } | fields


def report_page(
    *buckets: dict[str, Any], has_more: Any = False, next_page: str | None = None, ensure_ascii: bool = True
) -> bytes:
    page = {"data": list(buckets), "has_more": has_more, "next_page": next_page}
    return json.dumps(page, ensure_ascii=ensure_ascii).encode()


def usage_page_with(result: dict[str, Any]) -> bytes:
    return report_page(bucket(1, [result]))


def cost_page_with(result: dict[str, Any]) -> bytes:
    return report_page(bucket(1, [result]))


def claude_record(**fields: Any) -> dict[str, Any]:
    return {
        "date": "2026-08-20T00:00:00Z",
        "actor": {"type": "user_actor", "email_address": "dev@company.com"},
        "organization_id": "dc9f6c26-b22c-4831-8d01-0446bada88f1",
        "customer_type": "api",
        "subscription_type": None,
        "terminal_type": "vscode",
        "is_remote": False,
        "core_metrics": {
            "num_sessions": 5,
            "lines_of_code": {"added": 1543, "removed": 892},
            "commits_by_claude_code": 12,
            "pull_requests_by_claude_code": 2,
        },
        "tool_actions": {"edit_tool": {"accepted": 45, "rejected": 5}, "write_tool": {"accepted": 8, "rejected": 1}},
        "model_breakdown": [
            {
                "model": "claude-opus-5",
                "tokens": {"input": 100000, "output": 35000, "cache_read": 10000, "cache_creation": 5000},
                "estimated_cost": {"currency": "USD", "amount": 141},
            }
        ],
    } | fields


def claude_page(*records: dict[str, Any], has_more: Any = False, next_page: str | None = None) -> bytes:
    return json.dumps({"data": list(records), "has_more": has_more, "next_page": next_page}).encode()


def with_raw_number(body: bytes, placeholder: str, number_text: str) -> bytes:
    """JSON numbers beyond float precision cannot come from json.dumps; splice them in."""
    return body.replace(json.dumps(placeholder).encode(), number_text.encode())


def list_page(*objects: dict[str, Any], has_more: Any = False, id_key: str = "id") -> bytes:
    return json.dumps({
        "data": list(objects),
        "has_more": has_more,
        "first_id": objects[0][id_key] if objects else None,
        "last_id": objects[-1][id_key] if objects else None,
    }).encode()


USER = {
    "id": "user_01", "type": "user", "email": "dev@company.com", "name": "Dev",
    "role": "developer", "added_at": "2024-10-30T23:58:27.427722Z",
}
INVITE = {
    "id": "invite_01", "type": "invite", "email": "new@company.com", "role": "user", "status": "pending",
    "invited_at": "2026-08-01T10:00:00Z", "expires_at": "2026-08-22T10:00:00+02:00", "accepted_at": None,
    "rbac_group_ids": [],
}
WORKSPACE = {
    "id": "wrkspc_01", "type": "workspace", "name": "Prod", "display_color": "#6C5BB9",
    "created_at": "2025-01-01T00:00:00Z", "archived_at": None,
    "data_residency": {
        "workspace_geo": "us", "allowed_inference_geos": "unrestricted", "default_inference_geo": "global",
    },
    "tags": {"team": "ml"}, "compartment_id": "cmp_01", "external_key_id": None,
}
MEMBER = {
    "type": "workspace_member", "user_id": "user_01", "workspace_id": "wrkspc_01",
    "workspace_role": "workspace_developer",
}
OLD_API_KEY = {
    "id": "apikey_01", "type": "api_key", "name": "ci", "created_at": "2025-03-01T12:00:00Z",
    "created_by": {"id": "user_01", "type": "user"}, "expires_at": None,
    "partial_key_hint": "sk-ant-api03-R2D...igAA", "status": "active", "workspace_id": None,
}
PRINCIPAL_API_KEY = OLD_API_KEY | {  # S-0822: principal {id, type}
    "id": "apikey_02", "created_by": None, "principal": {"id": "user_02", "type": "user"},
}
UNION_API_KEY = without(OLD_API_KEY, "workspace_id") | {  # S-SDK: principal union + scope
    "id": "apikey_03", "created_by": {"id": "svac_09", "type": "service_account"},
    "expires_at": "2027-01-01T00:00:00Z", "partial_key_hint": None,
    "principal": {"type": "service_account_actor", "service_account_id": "svac_01"},
    "scope": {"type": "workspace", "workspace_id": "wrkspc_default"},
}
ORGANIZATION = {"id": "dc9f6c26-b22c-4831-8d01-0446bada88f1", "name": "Acme", "type": "organization"}


# --- DuckDB with the real DDL ----------------------------------------------------------------

DUCKDB_TO_POLARS = {
    "VARCHAR": pl.String,
    "BIGINT": pl.Int64,
    "TIMESTAMP WITH TIME ZONE": pl.Datetime("us", "UTC"),
    "DATE": pl.Date,
    "BOOLEAN": pl.Boolean,
    "DECIMAL(38,12)": pl.Decimal(38, 12),
    "DECIMAL(38,14)": pl.Decimal(38, 14),
    "JSON": pl.String,
}
LOADER_COLUMNS = {"organization_id", "loaded_at", "row_hash", "valid_from", "valid_to", "is_current"}
# raw.workspaces.is_default is not in a page: the entity snapshot adds it from a second list
EXTRACT_COLUMNS = {"is_default"}
SCD_VALUES = "'hash' AS row_hash, now() AS valid_from, NULL AS valid_to, true AS is_current"


@pytest.fixture
def warehouse() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    ensure_schema(con)
    return con


def load(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Insert as the loader will (BY NAME, plus its own columns), then read the table back."""
    con.register("incoming", frame)
    loader_values = "'org' AS organization_id, now() AS loaded_at"
    if "row_hash" in dict(ddl_columns(con, table)):
        loader_values += f", {SCD_VALUES}"
    con.execute(f"INSERT INTO raw.{table} BY NAME SELECT *, {loader_values} FROM incoming")
    con.unregister("incoming")
    return con.sql(f"SELECT * FROM raw.{table}").pl()


def expected_schema(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, pl.DataType]]:
    """The DDL's columns and types as polars sees them, minus what the loader and the extract add."""
    return [(name, DUCKDB_TO_POLARS[kind]) for name, kind in ddl_columns(con, table)
            if name not in LOADER_COLUMNS | EXTRACT_COLUMNS]


def pick(row: dict[str, Any], *keys: str) -> tuple[Any, ...]:
    return tuple(row[key] for key in keys)


def ddl_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    return con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'raw' AND table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall()


FRAMES: dict[str, Callable[[], pl.DataFrame]] = {
    "messages_usage": lambda: decode_messages_usage_page(usage_page_with(usage_result()), "1d").rows,
    "cost_report": lambda: decode_cost_report_page(cost_page_with(cost_result())).rows,
    "claude_code_usage": lambda: decode_claude_code_page(claude_page(claude_record())).usage,
    "claude_code_model_usage": lambda: decode_claude_code_page(claude_page(claude_record())).model_usage,
    "claude_code_tool_actions": lambda: decode_claude_code_page(claude_page(claude_record())).tool_actions,
    "organization": lambda: decode_organization(json.dumps(ORGANIZATION).encode()),
    "users": lambda: decode_users_page(list_page(USER)).rows,
    "invites": lambda: decode_invites_page(list_page(INVITE)).rows,
    "workspaces": lambda: decode_workspaces_page(list_page(WORKSPACE)).rows,
    "workspace_members": lambda: decode_workspace_members_page(list_page(MEMBER, id_key="user_id")).rows,
    "api_keys": lambda: decode_api_keys_page(list_page(OLD_API_KEY, PRINCIPAL_API_KEY, UNION_API_KEY)).rows,
}
EMPTY_FRAMES: dict[str, Callable[[], pl.DataFrame]] = {
    "messages_usage": lambda: decode_messages_usage_page(report_page(), "1h").rows,
    "cost_report": lambda: decode_cost_report_page(report_page(bucket(1, []))).rows,
    "claude_code_usage": lambda: decode_claude_code_page(claude_page()).usage,
    "claude_code_model_usage": lambda: decode_claude_code_page(claude_page()).model_usage,
    "claude_code_tool_actions": lambda: decode_claude_code_page(claude_page()).tool_actions,
    "users": lambda: decode_users_page(list_page()).rows,
    "api_keys": lambda: decode_api_keys_page(list_page()).rows,
}


# --- Shape: exactly the DDL, and it loads ----------------------------------------------------


@pytest.mark.parametrize("table", FRAMES)
def test_frame_has_the_ddl_columns_in_order_with_matching_types(warehouse, table):
    frame = FRAMES[table]()
    assert list(frame.schema.items()) == expected_schema(warehouse, table)
    assert load(warehouse, table, frame).height == frame.height > 0


@pytest.mark.parametrize("table", EMPTY_FRAMES)
def test_empty_pages_keep_the_schema(warehouse, table):
    frame = EMPTY_FRAMES[table]()
    assert frame.height == 0
    assert list(frame.schema.items()) == expected_schema(warehouse, table)


# --- Messages usage ---------------------------------------------------------------------------


def test_usage_values_round_trip_through_duckdb(warehouse):
    result = usage_result(workspace_id="wrkspc_01", api_key_id="apikey_01", speed="fast")
    page = decode_messages_usage_page(report_page(bucket(1, [result]), has_more=True, next_page="page_MjAy"), "1d")
    assert (page.has_more, page.next_page) == (True, "page_MjAy")
    (row,) = load(warehouse, "messages_usage", page.rows).to_dicts()
    assert row["bucket_start"] == datetime(2026, 8, 1, tzinfo=UTC)
    assert row["bucket_end"] == datetime(2026, 8, 2, tzinfo=UTC)
    assert pick(row, "bucket_width", "workspace_id", "api_key_id", "speed") == ("1d", "wrkspc_01", "apikey_01", "fast")
    assert pick(row, *TOKEN_COLUMNS) == (1500, 500, 1000, 200, 500, 10)  # in TOKEN_COLUMNS order
    assert row["extras"] is None


def test_null_and_absent_dimensions_stay_null():
    absent = without(usage_result(), "account_id", "service_account_id", "inference_geo")
    page = decode_messages_usage_page(report_page(bucket(1, [usage_result(), absent])), "1d")
    rows = page.rows.to_dicts()
    assert [row["workspace_id"] for row in rows] == [None, None]  # the default workspace
    assert rows[1]["account_id"] is None and rows[1]["inference_geo"] is None
    assert not page.drift


def test_empty_buckets_give_no_rows_and_bounds_accept_offsets():
    page = decode_messages_usage_page(
        report_page(
            bucket(1, []),
            bucket(2, [usage_result()], starting_at="2026-08-02T02:00:00+02:00", ending_at="2026-08-03T00:00:00.000Z"),
            bucket(3, []),
        ),
        "1d",
    )
    assert page.rows.height == 1
    assert page.rows["bucket_start"].to_list() == [datetime(2026, 8, 2, tzinfo=UTC)]


def test_unknown_fields_go_to_extras_and_drift(warehouse):
    result = usage_result(requests=7)
    result["cache_creation"] = result["cache_creation"] | {"ephemeral_30m_input_tokens": 3}
    page = decode_messages_usage_page(
        report_page(bucket(1, [result, usage_result()], note="x"), bucket(2, [usage_result(requests=2)])), "1d"
    )
    assert page.rows["extras"].to_list() == [
        '{"cache_creation.ephemeral_30m_input_tokens":3,"requests":7}', None, '{"requests":2}',
    ]
    assert page.drift.unknown_fields == {
        "data[].results[].cache_creation.ephemeral_30m_input_tokens": 1,
        "data[].results[].requests": 2,
        "data[].note": 1,
    }
    assert any("data[].results[].requests" in warning for warning in page.drift.warnings())
    extras = load(warehouse, "messages_usage", page.rows)["extras"].to_list()
    assert json.loads(extras[0]) == {"cache_creation.ephemeral_30m_input_tokens": 3, "requests": 7}


def test_unknown_enum_values_keep_the_row_and_count_as_drift():
    results = [usage_result(service_tier="flex_discount"), usage_result(service_tier="turbo")] * 2
    page = decode_messages_usage_page(report_page(bucket(1, results)), "1h")
    assert page.rows["service_tier"].to_list() == ["flex_discount", "turbo"] * 2
    assert page.drift.unknown_enum_values == {"service_tier": {"turbo": 2}}
    assert page.drift.warnings() == ["unknown value 'turbo' in 'service_tier' in 2 row(s); rows are kept"]


def test_text_that_looks_like_json_inside_values_is_not_drift():
    tricky = 'x": 1.5, "output_tokens": -1, "new_key": {'
    page = decode_messages_usage_page(usage_page_with(usage_result(model=tricky)), "1d")
    assert page.rows["model"].to_list() == [tricky]
    assert not page.drift and page.rows["extras"].to_list() == [None]


def test_bucket_width_is_checked():
    with pytest.raises(ValueError, match="bucket_width"):
        decode_messages_usage_page(report_page(), "5m")


USAGE_MALFORMED = {
    "truncated": (usage_page_with(usage_result())[:-25], "not a JSON page"),
    "html": (b"<html><body><h1>502 Bad Gateway</h1></body></html>", "not a JSON page.*<html>"),
    "empty body": (b"", "not a JSON page"),
    "error body": (b'{"type":"error","error":{"type":"api_error","message":"boom"}}', "has_more"),
    "string token": (usage_page_with(usage_result(output_tokens="500")), 'non-negative integer.*"output_tokens": "500'),
    "float token": (usage_page_with(usage_result(output_tokens=1.5)), 'non-negative integer.*"output_tokens": 1.5'),
    "bool token": (usage_page_with(usage_result(output_tokens=True)), '"output_tokens": true'),
    "negative token": (usage_page_with(usage_result(uncached_input_tokens=-1)), '"uncached_input_tokens": -1'),
    "null token": (usage_page_with(usage_result(cache_read_input_tokens=None)), '"cache_read_input_tokens": null'),
    "missing token": (usage_page_with(without(usage_result(), "output_tokens")), "output_tokens is missing"),
    "missing cache_creation": (
        usage_page_with(without(usage_result(), "cache_creation")), "cache_creation_5m_input_tokens is missing"
    ),
    "missing nested counter": (
        usage_page_with(usage_result(server_tool_use={})), "web_search_requests is missing"
    ),
    "missing starting_at": (report_page(without(bucket(1, [usage_result()]), "starting_at")), "starting_at is missing"),
    "bad ending_at": (report_page(bucket(1, [], ending_at="yesterday")), "bad timestamp"),
    "missing results": (report_page(without(bucket(1, []), "results")), "results is missing"),
    "has_more string": (report_page(has_more="false"), "not a JSON page"),
    "has_more null": (report_page(has_more=None), "has_more must be true or false"),
    "data not a list": (b'{"data": {}, "has_more": false}', "not a JSON page"),
    "two objects": (report_page() + report_page(), "not a JSON page"),
}


@pytest.mark.parametrize("case", USAGE_MALFORMED)
def test_malformed_usage_pages_raise(case):
    body, reason = USAGE_MALFORMED[case]
    with pytest.raises(MalformedPage, match=reason):
        decode_messages_usage_page(body, "1d")


# --- Cost report ------------------------------------------------------------------------------


def test_cost_amounts_are_exact_through_duckdb(warehouse):
    results = [cost_result(), cost_result(amount="-0.000000000001", workspace_id=None), cost_result(amount="1500")]
    page = decode_cost_report_page(report_page(bucket(1, results)))
    rows = load(warehouse, "cost_report", page.rows).to_dicts()
    assert [(row["amount_cents"], row["amount_usd"]) for row in rows] == [
        (Decimal("123.78912"), Decimal("1.2378912")),
        (Decimal("-0.000000000001"), Decimal("-0.00000000000001")),
        (Decimal("1500"), Decimal("15")),
    ]
    assert rows[1]["workspace_id"] is None and rows[0]["currency"] == "USD"


def test_cost_rows_without_description_grouping_and_documented_speed():
    page = decode_cost_report_page(report_page(
        bucket(1, [{"amount": "0.1", "currency": "USD", "workspace_id": None, "speed": "fast"}]), bucket(2, [])
    ))
    (row,) = page.rows.to_dicts()
    assert row["cost_type"] is None and row["token_type"] is None
    assert row["extras"] == '{"speed":"fast"}'
    assert not page.drift  # speed is documented (Feb-Apr 2026), so it is no surprise


def test_cost_unknown_cost_type_is_kept():
    page = decode_cost_report_page(cost_page_with(cost_result(cost_type="gpu_hours", token_type=None)))
    assert page.rows["cost_type"].to_list() == ["gpu_hours"]
    assert page.drift.unknown_enum_values == {"cost_type": {"gpu_hours": 1}}


COST_MALFORMED = {
    "13 fractional digits": (cost_result(amount="0.0000000000001"), "not a plain decimal"),
    "not a number": (cost_result(amount="12,50"), "not a plain decimal"),
    "exponent": (cost_result(amount="1e3"), "not a plain decimal"),
    "too many integer digits": (cost_result(amount="1" + "0" * 24), "not a plain decimal"),
    "amount as a JSON number": (cost_result(amount=123.45), 'expected a string.*"amount": 123.45'),
    "amount null": (cost_result(amount=None), '"amount": null'),
    "amount missing": (without(cost_result(), "amount"), "amount is missing"),
    "currency missing": (without(cost_result(), "currency"), "currency is missing"),
}


@pytest.mark.parametrize("case", COST_MALFORMED)
def test_malformed_cost_pages_raise(case):
    result, reason = COST_MALFORMED[case]
    with pytest.raises(MalformedPage, match=reason):
        decode_cost_report_page(cost_page_with(result))


# --- Claude Code ------------------------------------------------------------------------------


def test_claude_code_frames_round_trip(warehouse):
    page = decode_claude_code_page(claude_page(claude_record(), has_more=True, next_page="page_x"))
    assert (page.has_more, page.next_page) == (True, "page_x")
    (usage,) = load(warehouse, "claude_code_usage", page.usage).to_dicts()
    assert usage["date"] == date(2026, 8, 20)
    assert pick(usage, "actor_type", "actor_email", "actor_api_key_name") == ("user_actor", "dev@company.com", None)
    metrics = pick(usage, "num_sessions", "lines_added", "lines_removed", "commits", "pull_requests")
    assert metrics == (5, 1543, 892, 12, 2)
    assert json.loads(usage["extras"]) == {"organization_id": "dc9f6c26-b22c-4831-8d01-0446bada88f1"}
    (model,) = load(warehouse, "claude_code_model_usage", page.model_usage).to_dicts()
    assert model["record_key"] == usage["record_key"]
    assert pick(model, "estimated_cost_cents", "estimated_cost_usd", "currency") == (
        Decimal("141"), Decimal("1.41"), "USD",
    )
    tools = load(warehouse, "claude_code_tool_actions", page.tool_actions)
    assert sorted(tools.select("tool", "accepted", "rejected").rows()) == [("edit_tool", 45, 5), ("write_tool", 8, 1)]
    assert not page.drift


def test_claude_code_accepts_both_date_formats():
    old = decode_claude_code_page(claude_page(claude_record(date="2025-08-08")))
    new = decode_claude_code_page(claude_page(claude_record(date="2025-08-08T00:00:00Z")))
    assert old.usage["date"].to_list() == new.usage["date"].to_list() == [date(2025, 8, 8)]
    assert old.usage["record_key"].to_list() == new.usage["record_key"].to_list()


def test_claude_code_record_key_separates_every_dimension():
    api_actor = {"type": "api_actor", "api_key_name": "ci-key"}
    records = [
        claude_record(),
        claude_record(is_remote=True),
        without(claude_record(), "is_remote", "subscription_type"),  # older responses
        claude_record(terminal_type="tmux"),
        claude_record(actor=api_actor),
        claude_record(customer_type="subscription", subscription_type="team"),
    ]
    usage = decode_claude_code_page(claude_page(*records)).usage
    assert usage["record_key"].n_unique() == len(records)
    assert usage["is_remote"].to_list() == [False, True, None, False, False, False]
    assert usage.row(4, named=True)["actor_api_key_name"] == "ci-key"


def test_claude_code_unknown_tools_and_fields_load():
    tools = {"edit_tool": {"accepted": 1, "rejected": 0}, "browser_tool": {"accepted": 3, "rejected": 2}}
    record = claude_record(tool_actions=tools)
    record["core_metrics"] = record["core_metrics"] | {"reverts": 4}
    federated = claude_record(actor={"type": "federated_actor", "subject": "x"})
    page = decode_claude_code_page(claude_page(record, federated))
    assert sorted(page.tool_actions["tool"].to_list()) == ["browser_tool", "edit_tool", "edit_tool", "write_tool"]
    assert json.loads(page.usage["extras"][0])["core_metrics.reverts"] == 4
    assert page.drift.unknown_fields == {"data[].core_metrics.reverts": 1, "data[].actor.subject": 1}
    assert page.drift.unknown_enum_values == {"actor_type": {"federated_actor": 1}}


def test_claude_code_cost_is_exact_decimal_text():
    entry = claude_record()["model_breakdown"][0]
    entries = [entry | {"estimated_cost": {"currency": "USD", "amount": "AMOUNT"}}, entry | {"estimated_cost": None}]
    body = with_raw_number(claude_page(claude_record(model_breakdown=entries)), "AMOUNT", "1234567890.123456789012")
    model_usage = decode_claude_code_page(body).model_usage
    assert model_usage["estimated_cost_cents"].to_list() == [Decimal("1234567890.123456789012"), None]
    assert model_usage["estimated_cost_usd"].to_list() == [Decimal("12345678.90123456789012"), None]


METRICS = claude_record()["core_metrics"]
MODEL_ENTRY = claude_record()["model_breakdown"][0]
CLAUDE_MALFORMED = {
    "bad date": (claude_record(date="2025-08-08T05:00:00Z"), "neither YYYY-MM-DD"),
    "impossible date": (claude_record(date="2025-02-30"), "date '2025-02-30'"),
    "string count": (claude_record(core_metrics=METRICS | {"num_sessions": "5"}), "num_sessions"),
    "negative count": (claude_record(tool_actions={"edit_tool": {"accepted": -1, "rejected": 0}}), "accepted"),
    "boolean count": (claude_record(tool_actions={"edit_tool": {"accepted": 1, "rejected": True}}), "rejected"),
    "count beyond BIGINT": (claude_record(tool_actions={"edit_tool": {"accepted": 2**63, "rejected": 0}}), "64-bit"),
    "missing core_metrics": (without(claude_record(), "core_metrics"), "core_metrics must be an object"),
    "actor without type": (claude_record(actor={"email_address": "a@b.c"}), "actor.type"),
    "is_remote string": (claude_record(is_remote="yes"), "is_remote"),
    "object for a string": (claude_record(terminal_type={"name": "vscode"}), "terminal_type must be a string"),
    "cost amount string": (
        claude_record(model_breakdown=[MODEL_ENTRY | {"estimated_cost": {"currency": "USD", "amount": "1"}}]),
        "estimated_cost.amount must be a number",
    ),
    "float token": (
        claude_record(model_breakdown=[MODEL_ENTRY | {"tokens": MODEL_ENTRY["tokens"] | {"input": 1.0}}]),
        "input must be a non-negative 64-bit integer",
    ),
}


@pytest.mark.parametrize("case", CLAUDE_MALFORMED)
def test_malformed_claude_code_pages_raise(case):
    record, reason = CLAUDE_MALFORMED[case]
    with pytest.raises(MalformedPage, match=reason):
        decode_claude_code_page(claude_page(record))


def test_claude_code_envelope_is_checked():
    with pytest.raises(MalformedPage, match="has_more"):
        decode_claude_code_page(claude_page(has_more="no"))
    with pytest.raises(MalformedPage, match="not a JSON page"):
        decode_claude_code_page(claude_page(claude_record())[:100])


# --- Entities ---------------------------------------------------------------------------------


def test_api_keys_of_both_shapes_flatten_into_one_table(warehouse):
    page = decode_api_keys_page(list_page(OLD_API_KEY, PRINCIPAL_API_KEY, UNION_API_KEY, has_more=True))
    assert (page.has_more, page.first_id, page.last_id) == (True, "apikey_01", "apikey_03")
    rows = {row["id"]: row for row in load(warehouse, "api_keys", page.rows).to_dicts()}
    columns = ("workspace_id", "created_by_id", "created_by_type", "principal_type", "principal_id", "scope_type",
               "scope_workspace_id")
    assert pick(rows["apikey_01"], *columns) == (None, "user_01", "user", None, None, None, None)
    assert pick(rows["apikey_02"], *columns) == (None, None, None, "user", "user_02", None, None)
    assert pick(rows["apikey_03"], *columns) == (
        None, "svac_09", "service_account", "service_account", "svac_01", "workspace", "wrkspc_default",
    )
    assert rows["apikey_03"]["expires_at"] == datetime(2027, 1, 1, tzinfo=UTC)
    assert all(json.loads(row["extras"]) == {"type": "api_key"} for row in rows.values())
    assert not page.drift


def test_user_actor_principal_and_organization_scope():
    key = OLD_API_KEY | {"principal": {"type": "user_actor", "user_id": "user_07"}, "scope": {"type": "organization"}}
    (row,) = decode_api_keys_page(list_page(key)).rows.to_dicts()
    assert pick(row, "principal_type", "principal_id", "scope_type", "scope_workspace_id") == (
        "user", "user_07", "organization", None,
    )


def test_workspaces_keep_json_columns_and_documented_fields_quietly(warehouse):
    restricted = WORKSPACE | {
        "id": "wrkspc_02",
        "data_residency": {"workspace_geo": "us", "allowed_inference_geos": ["us"], "default_inference_geo": "us"},
        "archived_at": "2026-01-02T03:04:05.5Z",
        "billing_plan": "gold",
    }
    page = decode_workspaces_page(list_page(WORKSPACE, restricted))
    rows = load(warehouse, "workspaces", page.rows).to_dicts()
    assert [json.loads(row["allowed_inference_geos"]) for row in rows] == ["unrestricted", ["us"]]
    assert json.loads(rows[0]["tags"]) == {"team": "ml"}
    assert rows[1]["archived_at"] == datetime(2026, 1, 2, 3, 4, 5, 500000, tzinfo=UTC)
    assert json.loads(rows[0]["extras"]) == {"compartment_id": "cmp_01", "external_key_id": None, "type": "workspace"}
    assert json.loads(rows[1]["extras"])["billing_plan"] == "gold"
    assert page.drift.unknown_fields == {"data[].billing_plan": 1}


def test_users_invites_and_members(warehouse):
    users = decode_users_page(list_page(USER, USER | {"id": "user_02", "name": None, "role": "primary_owner"}))
    assert users.rows["added_at"].to_list()[0] == datetime(2024, 10, 30, 23, 58, 27, 427722, tzinfo=UTC)
    assert users.rows["name"].to_list() == ["Dev", None]
    assert not users.drift
    invites = decode_invites_page(list_page(INVITE, INVITE | {"id": "invite_02", "role": "auditor"}))
    (invite, _) = load(warehouse, "invites", invites.rows).to_dicts()
    assert invite["expires_at"] == datetime(2026, 8, 22, 8, tzinfo=UTC)  # +02:00 normalised to UTC
    assert json.loads(invite["extras"]) == {"rbac_group_ids": [], "type": "invite"}
    assert invites.drift.unknown_enum_values == {"role": {"auditor": 1}}
    members = decode_workspace_members_page(list_page(MEMBER, id_key="user_id"))
    assert members.rows.row(0)[:3] == ("wrkspc_01", "user_01", "workspace_developer")


def test_empty_list_page_has_null_cursors():
    page = decode_users_page(list_page())
    assert (page.rows.height, page.has_more, page.first_id, page.last_id) == (0, False, None, None)


def test_organization_logs_unknown_fields(caplog):
    with caplog.at_level(logging.WARNING):
        frame = decode_organization(json.dumps(ORGANIZATION | {"plan": "enterprise"}).encode())
    assert frame.select("id", "name", "type").row(0) == (ORGANIZATION["id"], "Acme", "organization")
    assert json.loads(frame["extras"][0]) == {"plan": "enterprise"}
    assert "'plan'" in caplog.text


ENTITY_MALFORMED = {
    "has_more string": (lambda: decode_users_page(list_page(USER, has_more="true")), "has_more"),
    "data missing": (lambda: decode_users_page(b'{"has_more": false}'), "data must be an array"),
    "object not a dict": (lambda: decode_users_page(b'{"data": ["user_01"], "has_more": false}'), "object 0 must be"),
    "id missing": (lambda: decode_users_page(list_page(without(USER, "id"), id_key="email")), "id is missing"),
    "member without user": (
        lambda: decode_workspace_members_page(list_page(without(MEMBER, "user_id"), id_key="workspace_id")),
        "user_id is missing",
    ),
    "bad timestamp": (lambda: decode_users_page(list_page(USER | {"added_at": "last tuesday"})), "bad timestamp"),
    "number for a string": (lambda: decode_users_page(list_page(USER | {"email": 5})), "email must be a string"),
    "cursor not a string": (
        lambda: decode_users_page(json.dumps({"data": [], "has_more": False, "last_id": 3}).encode()), "last_id"
    ),
    "organization not an object": (lambda: decode_organization(b"[]"), "organization must be an object"),
    "html": (lambda: decode_api_keys_page(b"<!DOCTYPE html>"), "not a JSON page"),
}


@pytest.mark.parametrize("case", ENTITY_MALFORMED)
def test_malformed_entity_pages_raise(case):
    decode, reason = ENTITY_MALFORMED[case]
    with pytest.raises(MalformedPage, match=reason):
        decode()


# --- SchemaDrift ------------------------------------------------------------------------------


def test_drift_merges_across_pages():
    first = SchemaDrift({"data[].a": 1}, {"service_tier": {"turbo": 2}})
    second = SchemaDrift({"data[].a": 2, "data[].b": 1}, {"service_tier": {"turbo": 1, "max": 1}, "speed": {"warp": 1}})
    merged = sum([first, second], SchemaDrift())
    assert merged == SchemaDrift(
        {"data[].a": 3, "data[].b": 1}, {"service_tier": {"turbo": 3, "max": 1}, "speed": {"warp": 1}}
    )
    assert len(merged.warnings()) == 5
    assert not SchemaDrift() and merged


# --- Properties -------------------------------------------------------------------------------

TOKEN_COLUMNS = {
    "uncached_input_tokens": lambda r: r["uncached_input_tokens"],
    "cache_creation_5m_input_tokens": lambda r: r["cache_creation"]["ephemeral_5m_input_tokens"],
    "cache_creation_1h_input_tokens": lambda r: r["cache_creation"]["ephemeral_1h_input_tokens"],
    "cache_read_input_tokens": lambda r: r["cache_read_input_tokens"],
    "output_tokens": lambda r: r["output_tokens"],
    "web_search_requests": lambda r: r["server_tool_use"]["web_search_requests"],
}
counts = st.integers(min_value=0, max_value=10**15)
dimension = st.none() | st.text(max_size=12)
usage_results = st.builds(
    lambda tokens, dims, tier: usage_result(
        uncached_input_tokens=tokens[0],
        cache_creation={"ephemeral_5m_input_tokens": tokens[1], "ephemeral_1h_input_tokens": tokens[2]},
        cache_read_input_tokens=tokens[3],
        output_tokens=tokens[4],
        server_tool_use={"web_search_requests": tokens[5]},
        workspace_id=dims[0], api_key_id=dims[1], account_id=dims[2], model=dims[3], service_tier=tier,
    ),
    st.tuples(*[counts] * 6),
    st.tuples(*[dimension] * 4),
    st.none() | st.sampled_from(["standard", "batch", "priority", "flex"]),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(usage_results, max_size=6), max_size=5), st.booleans())
def test_usage_token_sums_and_row_counts_survive_decoding(buckets, ascii_only):
    body = report_page(*(bucket(day + 1, results) for day, results in enumerate(buckets)), ensure_ascii=ascii_only)
    page = decode_messages_usage_page(body, "1d")
    results = [result for results in buckets for result in results]
    assert page.rows.height == len(results)
    for column, source in TOKEN_COLUMNS.items():
        assert page.rows[column].sum() == sum(source(result) for result in results)
    assert page.rows["workspace_id"].to_list() == [result["workspace_id"] for result in results]
    assert not page.drift


cents_text = st.builds(
    lambda sign, whole, fraction: f"{sign}{whole}" + (f".{fraction}" if fraction else ""),
    st.sampled_from(["", "-"]),
    st.integers(min_value=0, max_value=10**24 - 1),
    st.text(alphabet="0123456789", max_size=12),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(cents_text, min_size=1, max_size=5))
def test_cost_amounts_are_exact_for_any_decimal_text(amounts):
    page = decode_cost_report_page(report_page(bucket(1, [cost_result(amount=amount) for amount in amounts])))
    with localcontext(prec=60):
        assert page.rows["amount_cents"].to_list() == [Decimal(amount) for amount in amounts]
        assert page.rows["amount_usd"].to_list() == [Decimal(amount) / 100 for amount in amounts]
