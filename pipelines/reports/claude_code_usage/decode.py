"""`GET /v1/organizations/usage_report/claude_code` pages -> three raw tables.

One record per (day, actor, terminal, remote flag, customer and subscription type) becomes a
`raw.claude_code_usage` row, plus one `raw.claude_code_model_usage` row per model and one
`raw.claude_code_tool_actions` row per tool. The API declares no key for a record,
so `record_key` is an md5 of the whole dimension tuple; it also joins the child rows
to their record. `tool_actions` is keyed by tool name, so a new tool is just another row.

A page is one day and at most 1000 records, so this decoder favours clarity: `json.loads`
(decimals as `Decimal`, so the cost stays exact) and plain Python.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl

from pipelines.normalize.columns import add_money
from pipelines.normalize.drift import ANY_KEY, Shape, drift_and_extras, enum_drift
from pipelines.normalize.pages import (
    ClaudeCodePage, MalformedPage, as_object, count_field, has_more_value, list_field,
    object_field, optional_string, parse_json,
)

USAGE_SCHEMA = {
    "date": pl.Date, "record_key": pl.String, "actor_type": pl.String, "actor_email": pl.String,
    "actor_api_key_name": pl.String, "terminal_type": pl.String, "is_remote": pl.Boolean,
    "customer_type": pl.String, "subscription_type": pl.String, "num_sessions": pl.Int64,
    "lines_added": pl.Int64, "lines_removed": pl.Int64, "commits": pl.Int64, "pull_requests": pl.Int64,
    "extras": pl.String,
}
MODEL_USAGE_SCHEMA = {
    "date": pl.Date, "record_key": pl.String, "model": pl.String, "input_tokens": pl.Int64,
    "output_tokens": pl.Int64, "cache_read_tokens": pl.Int64, "cache_creation_tokens": pl.Int64,
    "currency": pl.String, "estimated_cost": pl.String,  # decimal text, becomes cents and USD
}
TOOL_ACTIONS_SCHEMA = {
    "date": pl.Date, "record_key": pl.String, "tool": pl.String, "accepted": pl.Int64, "rejected": pl.Int64,
}
KNOWN_VALUES = {
    "actor_type": {"user_actor", "api_actor"},
    "customer_type": {"api", "subscription"},
    "subscription_type": {"enterprise", "team"},
}

RECORD_SHAPE: Shape = {  # every field that has a column (or child rows)
    "date": None,
    "actor": {"type": None, "email_address": None, "api_key_name": None},
    "customer_type": None, "subscription_type": None, "terminal_type": None, "is_remote": None,
    "core_metrics": {
        "num_sessions": None, "lines_of_code": {"added": None, "removed": None},
        "commits_by_claude_code": None, "pull_requests_by_claude_code": None,
    },
    "tool_actions": {ANY_KEY: {"accepted": None, "rejected": None}},
    "model_breakdown": {
        "model": None,
        "tokens": {"input": None, "output": None, "cache_read": None, "cache_creation": None},
        "estimated_cost": {"amount": None, "currency": None},
    },
}
PAGE_SHAPE: Shape = {"data": RECORD_SHAPE, "has_more": None, "next_page": None}
DOCUMENTED = ("data[].organization_id",)  # the org UUID; the loader sets organization_id itself

# `YYYY-MM-DD` (older docs) or that day's UTC midnight in RFC 3339 (newer docs).
_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})(?:T00:00:00(?:\.0+)?(?:Z|[+-]00:00))?")


def decode_claude_code_page(body: bytes) -> ClaudeCodePage:
    """One page of one UTC day of Claude Code usage; estimated cost in cents and USD."""
    page = as_object(parse_json(body), "page")
    records = [as_object(record, f"record {index}") for index, record in enumerate(list_field(page, "data", "page"))]
    has_more = has_more_value(page.get("has_more"))
    next_page = optional_string(page, "next_page", "page")

    usage, model_usage, tool_actions = [], [], []
    for index, record in enumerate(records):
        where = f"record {index}"
        dimensions = _dimensions(record, where)
        keys = {"date": dimensions["date"], "record_key": _record_key(dimensions)}
        usage.append(keys | dimensions | _core_metrics(record, where))
        for position, entry in enumerate(list_field(record, "model_breakdown", where, optional=True)):
            model_usage.append(keys | _model_usage(entry, f"{where} model_breakdown[{position}]"))
        for tool, counts in object_field(record, "tool_actions", where, optional=True).items():
            tool_actions.append(keys | {"tool": tool} | _tool_counts(counts, f"{where} tool_actions.{tool}"))

    drift, extras = drift_and_extras(page, PAGE_SHAPE, records, RECORD_SHAPE, DOCUMENTED)
    usage_frame = pl.DataFrame([row | {"extras": extra} for row, extra in zip(usage, extras)], schema=USAGE_SCHEMA)
    model_frame = add_money(
        pl.DataFrame(model_usage, schema=MODEL_USAGE_SCHEMA),
        "estimated_cost", "estimated_cost_cents", "estimated_cost_usd",
    ).drop("estimated_cost")
    tool_frame = pl.DataFrame(tool_actions, schema=TOOL_ACTIONS_SCHEMA)
    return ClaudeCodePage(
        usage=usage_frame,
        model_usage=model_frame,
        tool_actions=tool_frame,
        has_more=has_more,
        next_page=next_page,
        drift=drift + enum_drift(usage_frame, KNOWN_VALUES),
    )


def _dimensions(record: dict[str, Any], where: str) -> dict[str, Any]:
    """The fields that identify a record: absent optional ones (is_remote before 2026-08,
    subscription_type for API customers) are null."""
    actor = object_field(record, "actor", where)
    if not isinstance(actor.get("type"), str):
        raise MalformedPage(f"{where}: actor.type must be a string, got {actor.get('type')!r}")
    is_remote = record.get("is_remote")
    if is_remote is not None and not isinstance(is_remote, bool):
        raise MalformedPage(f"{where}: is_remote must be true, false or absent, got {is_remote!r}")
    return {
        "date": _record_date(record.get("date"), where),
        "actor_type": actor["type"],
        "actor_email": optional_string(actor, "email_address", where),
        "actor_api_key_name": optional_string(actor, "api_key_name", where),
        "terminal_type": optional_string(record, "terminal_type", where),
        "is_remote": is_remote,
        "customer_type": optional_string(record, "customer_type", where),
        "subscription_type": optional_string(record, "subscription_type", where),
    }


def _record_key(dimensions: dict[str, Any]) -> str:
    """md5 hex of the dimension tuple: stable across runs, so reloads replace, not duplicate."""
    values = [value.isoformat() if isinstance(value, date) else value for value in dimensions.values()]
    return hashlib.md5(json.dumps(values).encode()).hexdigest()


def _record_date(value: Any, where: str) -> date:
    match = _DATE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise MalformedPage(f"{where}: date {value!r} is neither YYYY-MM-DD nor a UTC midnight timestamp")
    try:
        return date.fromisoformat(match[1])
    except ValueError as error:
        raise MalformedPage(f"{where}: date {value!r}: {error}") from error


def _core_metrics(record: dict[str, Any], where: str) -> dict[str, int]:
    metrics = object_field(record, "core_metrics", where)
    lines = object_field(metrics, "lines_of_code", f"{where} core_metrics")
    return {
        "num_sessions": count_field(metrics, "num_sessions", where),
        "lines_added": count_field(lines, "added", f"{where} lines_of_code"),
        "lines_removed": count_field(lines, "removed", f"{where} lines_of_code"),
        "commits": count_field(metrics, "commits_by_claude_code", where),
        "pull_requests": count_field(metrics, "pull_requests_by_claude_code", where),
    }


def _model_usage(value: Any, where: str) -> dict[str, Any]:
    """Tokens are required; the estimated cost may be absent, but not half there."""
    entry = as_object(value, where)
    if not isinstance(entry.get("model"), str):
        raise MalformedPage(f"{where}: model must be a string, got {entry.get('model')!r}")
    tokens = object_field(entry, "tokens", where)
    currency = amount = None
    if entry.get("estimated_cost") is not None:
        cost = object_field(entry, "estimated_cost", where)
        currency, amount = cost.get("currency"), cost.get("amount")
        if type(amount) not in (int, Decimal):
            raise MalformedPage(f"{where}: estimated_cost.amount must be a number, got {amount!r}")
        if not isinstance(currency, str):
            raise MalformedPage(f"{where}: estimated_cost.currency must be a string, got {currency!r}")
    return {
        "model": entry["model"],
        "input_tokens": count_field(tokens, "input", where),
        "output_tokens": count_field(tokens, "output", where),
        "cache_read_tokens": count_field(tokens, "cache_read", where),
        "cache_creation_tokens": count_field(tokens, "cache_creation", where),
        "currency": currency,
        "estimated_cost": None if amount is None else format(Decimal(amount), "f"),  # exact decimal text
    }


def _tool_counts(value: Any, where: str) -> dict[str, int]:
    counts = as_object(value, where)
    return {"accepted": count_field(counts, "accepted", where), "rejected": count_field(counts, "rejected", where)}
