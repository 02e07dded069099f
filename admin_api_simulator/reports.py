"""The three report endpoints: Messages usage, cost, and Claude Code usage.

Choices where the API's documented behaviour is unconfirmed:

- ``starting_at`` is snapped down to the start of its bucket; a bucket is served when it starts
  at or after that and **ends at or before** ``ending_at`` (a bucket ending exactly at
  ``ending_at`` is included; with an unaligned ``ending_at`` the last, partial bucket is dropped).
- Buckets starting at or after now are never served. Without ``ending_at``, buckets are served up
  to and including the one containing now (partial), which is what "ending_at defaults to now"
  has to mean for the current bucket to be readable at all.
- No maximum range: paging covers long ranges. Every bucket in range is returned, empty ones with
  ``results: []``; result rows with no usage at all are not emitted.
- ``next_page`` is ``page_`` + urlsafe base64 of "<position>|<hash of the other parameters>":
  a cursor used with different parameters (or on another endpoint) is a 400. Cursors are
  stateless, so a retried request always gets the same page.
- ``speed`` is a result key only when grouping by speed (which needs the fast-mode beta).
- Cost: ``bucket_width`` other than ``1d`` is a 400; ``limit`` defaults to 7, max 31.
- Filtering ``workspace_ids[]`` by the default workspace's real ID selects its usage.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import polars as pl

from .org import SyntheticOrg
from .params import Query, Request, invalid
from .timeutil import MINUTES_PER_HOUR, epoch_minutes, from_epoch_minutes, rfc3339
from .traffic import CONTEXT_WINDOWS, DIMENSIONS, INFERENCE_GEOS, USAGE_METRICS

FAST_MODE_BETA = "fast-mode-2026-02-01"


@dataclass(frozen=True)
class BucketWidth:
    minutes: int
    default_limit: int
    max_limit: int


USAGE_BUCKET_WIDTHS = {
    "1d": BucketWidth(24 * MINUTES_PER_HOUR, 7, 31),
    "1h": BucketWidth(MINUTES_PER_HOUR, 24, 168),
    "1m": BucketWidth(1, 60, 1440),
}
COST_BUCKET_WIDTHS = {"1d": USAGE_BUCKET_WIDTHS["1d"]}

# Result-row dimension keys, in the documented order.
USAGE_DIMENSIONS = DIMENSIONS
USAGE_GROUP_BY = tuple(sorted(USAGE_DIMENSIONS + ("speed",)))
SERVICE_TIERS = ("standard", "batch", "priority", "priority_on_demand", "flex", "flex_discount")
SPEEDS = ("standard", "fast")
# filter parameter -> (dimension, allowed values or None for IDs)
USAGE_FILTERS: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "account_ids[]": ("account_id", None),
    "api_key_ids[]": ("api_key_id", None),
    "service_account_ids[]": ("service_account_id", None),
    "workspace_ids[]": ("workspace_id", None),
    "models[]": ("model", None),
    "service_tiers[]": ("service_tier", SERVICE_TIERS),
    "context_window[]": ("context_window", CONTEXT_WINDOWS),
    "inference_geos[]": ("inference_geo", INFERENCE_GEOS),
    "speeds[]": ("speed", SPEEDS),
}
_REPORT_PARAMS = ("starting_at", "ending_at", "bucket_width", "limit", "page", "group_by[]")
COST_GROUP_BY = ("description", "workspace_id")
COST_DIMENSIONS = ("description", "cost_type", "model", "token_type", "service_tier", "context_window", "inference_geo")


# --- cursors -----------------------------------------------------------------------------------

def encode_cursor(position: str, fingerprint: str) -> str:
    return "page_" + base64.urlsafe_b64encode(f"{position}|{fingerprint}".encode()).decode()


def decode_cursor(token: str, fingerprint: str) -> str:
    """The position a cursor points at; 400 if it is malformed or from a different query."""
    try:
        if not token.startswith("page_"):
            raise ValueError(token)
        position, token_fingerprint = base64.urlsafe_b64decode(token.removeprefix("page_")).decode().split("|")
    except ValueError:  # also bad base64 and bad UTF-8
        raise invalid("page: invalid page token") from None
    if token_fingerprint != fingerprint:
        raise invalid("page: the page token does not belong to this query; keep every other parameter unchanged")
    return position


# --- time buckets ------------------------------------------------------------------------------

@dataclass(frozen=True)
class BucketPage:
    """The buckets of one page: ``count`` buckets of ``width`` minutes from epoch minute ``first``."""

    first: int
    count: int
    width: int
    next_page: str | None

    @property
    def starts(self) -> range:
        return range(self.first, self.first + self.count * self.width, self.width)

    @property
    def start(self) -> datetime:
        return from_epoch_minutes(self.first)

    @property
    def end(self) -> datetime:
        return from_epoch_minutes(self.first + self.count * self.width)


def bucket_page(query: Query, path: str, widths: dict[str, BucketWidth], now: datetime) -> BucketPage:
    """Parse the time range, width, limit and cursor of a report request."""
    width_name = query.text("bucket_width") or "1d"
    if width_name not in widths:
        raise invalid(f"bucket_width: input should be one of {', '.join(widths)}; got {width_name!r}")
    width = widths[width_name]
    limit = query.integer("limit", width.default_limit, 1, width.max_limit)
    starting_at = query.timestamp("starting_at")
    if starting_at is None:
        raise invalid("starting_at: field required")
    ending_at = query.timestamp("ending_at")
    if ending_at is not None and ending_at <= starting_at:
        raise invalid("ending_at: must be after starting_at")

    first = epoch_minutes(starting_at) // width.minutes * width.minutes
    bucket_length = timedelta(minutes=width.minutes)
    total = -((from_epoch_minutes(first) - now) // bucket_length)  # buckets that start before now
    if ending_at is not None:
        total = min(total, (epoch_minutes(ending_at) - first) // width.minutes)  # ... and end by ending_at
    total = max(0, total)

    fingerprint = query.fingerprint(path)
    index = 0
    page = query.text("page")
    if page is not None:
        position = decode_cursor(page, fingerprint)
        try:
            index = (epoch_minutes(datetime.fromisoformat(position)) - first) // width.minutes
        except ValueError:
            raise invalid("page: invalid page token") from None
    index = min(max(index, 0), total)
    count = min(limit, total - index)
    following = index + count
    next_page = (
        encode_cursor(rfc3339(from_epoch_minutes(first + following * width.minutes)), fingerprint)
        if following < total
        else None
    )
    return BucketPage(first + index * width.minutes, count, width.minutes, next_page)


def _buckets(page: BucketPage, results: dict[int, list[dict[str, Any]]]) -> dict[str, Any]:
    return {
        "data": [
            {
                "starting_at": rfc3339(from_epoch_minutes(start)),
                "ending_at": rfc3339(from_epoch_minutes(start + page.width)),
                "results": results.get(start, []),
            }
            for start in page.starts
        ],
        "has_more": page.next_page is not None,
        "next_page": page.next_page,
    }


# --- GET /v1/organizations/usage_report/messages -------------------------------------------------

def messages_usage(org: SyntheticOrg, request: Request) -> dict[str, Any]:
    query = request.query(_REPORT_PARAMS + tuple(USAGE_FILTERS))
    group_by = query.choices("group_by[]", USAGE_GROUP_BY)
    filters = {name: query.choices(name, allowed) if allowed else query.texts(name)
               for name, (_, allowed) in USAGE_FILTERS.items()}
    if FAST_MODE_BETA not in request.betas and ("speed" in group_by or filters["speeds[]"]):
        raise invalid(f"speed: grouping or filtering by speed requires the anthropic-beta header {FAST_MODE_BETA}")
    page = bucket_page(query, request.path, USAGE_BUCKET_WIDTHS, org.clock())

    if page.width == 1:
        records = org.minute_usage(page.start, page.end).with_columns(bucket=pl.col("minute"))
    else:
        records = org.hourly_usage(page.start, page.end).with_columns(
            bucket=pl.col("hour") * MINUTES_PER_HOUR // page.width * page.width
        )
    for name, values in filters.items():
        dimension = USAGE_FILTERS[name][0]
        if not values:
            continue
        # The organization only runs standard speed (fast mode is not simulated).
        keep = pl.lit("standard" in values) if dimension == "speed" else pl.col(dimension).is_in(values)
        records = records.filter(keep)

    grouped = [d for d in USAGE_DIMENSIONS if d in group_by]
    totals = (
        records.group_by(["bucket", *grouped])
        .agg(pl.col(USAGE_METRICS).sum())
        .filter(pl.any_horizontal(pl.col(USAGE_METRICS) > 0))
        .sort(["bucket", *grouped], nulls_last=False)
        .select(
            "bucket",
            *(pl.col(d).cast(pl.String) if d in grouped else pl.lit(None, pl.String).alias(d) for d in USAGE_DIMENSIONS),
            *USAGE_METRICS,
        )
        .with_columns(workspace_id=pl.when(pl.col("workspace_id") != org.default_workspace_id).then("workspace_id"))
    )
    results: dict[int, list[dict[str, Any]]] = {}
    for (bucket, account, api_key, service_account, workspace, model, tier, context_window, geo,
         uncached, cache_5m, cache_1h, cache_read, output, web_searches) in totals.iter_rows():
        row = {
            "uncached_input_tokens": uncached,
            "cache_creation": {"ephemeral_5m_input_tokens": cache_5m, "ephemeral_1h_input_tokens": cache_1h},
            "cache_read_input_tokens": cache_read,
            "output_tokens": output,
            "server_tool_use": {"web_search_requests": web_searches},
            "account_id": account,
            "api_key_id": api_key,
            "service_account_id": service_account,
            "workspace_id": workspace,
            "model": model,
            "service_tier": tier,
            "context_window": context_window,
            "inference_geo": geo,
        }
        if "speed" in group_by:
            row["speed"] = "standard"
        results.setdefault(bucket, []).append(row)
    return _buckets(page, results)


# --- GET /v1/organizations/cost_report ------------------------------------------------------------

def cost_report(org: SyntheticOrg, request: Request) -> dict[str, Any]:
    query = request.query(_REPORT_PARAMS)
    group_by = query.choices("group_by[]", COST_GROUP_BY)
    page = bucket_page(query, request.path, COST_BUCKET_WIDTHS, org.clock())
    results = {}
    for start in page.starts:
        day = from_epoch_minutes(start).date()
        results[start] = _cost_rows(org, day, by_workspace="workspace_id" in group_by, by_description="description" in group_by)
    return _buckets(page, results)


def _cost_rows(org: SyntheticOrg, day: date, by_workspace: bool, by_description: bool) -> list[dict[str, Any]]:
    sums: dict[tuple, Decimal] = {}
    default_workspace_id = org.default_workspace_id
    for item in org.cost_line_items(day):
        workspace = item.workspace_id if by_workspace and item.workspace_id != default_workspace_id else None
        described = tuple(getattr(item, d) for d in COST_DIMENSIONS) if by_description else (None,) * len(COST_DIMENSIONS)
        key = (workspace, *described)
        sums[key] = sums.get(key, Decimal(0)) + item.amount_cents
    return [
        {"amount": format_cents(amount), "currency": "USD", "workspace_id": key[0], **dict(zip(COST_DIMENSIONS, key[1:]))}
        for key, amount in sorted(sums.items(), key=lambda kv: _none_first(kv[0]))
    ]


def format_cents(amount: Decimal) -> str:
    """A decimal string without exponent or trailing zeros: "123.78912", "1500", "0.1"."""
    text = format(amount, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _none_first(key: Iterable[str | None]) -> tuple:
    return tuple((value is not None, value or "") for value in key)


# --- GET /v1/organizations/usage_report/claude_code -----------------------------------------------

def claude_code(org: SyntheticOrg, request: Request) -> dict[str, Any]:
    query = request.query(("starting_at", "limit", "page"))
    day = query.day("starting_at")
    limit = query.integer("limit", 20, 1, 1000)
    rows = org.claude_code_rows(day)
    fingerprint = query.fingerprint(request.path)
    offset = 0
    page = query.text("page")
    if page is not None:
        position = decode_cursor(page, fingerprint)
        if not position.isdigit():
            raise invalid("page: invalid page token")
        offset = int(position)
    following = offset + limit
    has_more = following < len(rows)
    return {
        "data": rows[offset:following],
        "has_more": has_more,
        "next_page": encode_cursor(str(following), fingerprint) if has_more else None,
    }
