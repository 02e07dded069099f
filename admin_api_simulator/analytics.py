"""The Usage and Cost Analytics API (beta): ``GET /v1/organizations/analytics/usage`` and ``/cost``.

Flat rows ``{starting_at, ending_at, group, usage|cost}``, one per time bucket and combination of
the grouped dimensions that has usage (cost); ``group`` always carries every key, null unless
grouped. Served from the same events as the legacy reports (see ``analytics_view``). Every request
needs the ``anthropic-beta`` value ``analytics-usage-cost-2026-08-24``.

Choices where the reference marks the behaviour unconfirmed:

- ``anthropic-version`` 2023-06-01 is accepted as well as 2026-10-21.
- ``starting_at`` must be at or after 2026-01-01T00:00:00Z and at most 365 days before now.
  With a bucket width, buckets lie on the UTC grid of their width and every bucket that overlaps
  [starting_at, ending_at) is served whole; without one, both bounds round down to the hour and
  bounds that meet give no rows. Nothing at or after now is served (the current bucket is partial).
- Identities the server cannot render are separate ``actor: null`` rows only under
  ``group_by[]=actor``; otherwise their usage is summed like any other. ``actor_type`` is null
  unless grouped, also when ``actor`` is.
- Cost fan-out: with ``cost_type`` and/or ``token_type`` a combination's rows (only those with
  cost) are adjacent, ordered by amount, highest first; combinations are ordered by their total.
  ``token_type`` without ``cost_type``: the token rows (cost_type "tokens") plus one row of the
  rest with both null. ``web_search`` rows keep the request's model; ``code_execution`` and
  ``session_usage`` rows have model, service tier, context window and inference geo null.
- Ties in the order are broken by bucket, then by the group values, ascending.
- ``next_page`` is ``page_`` + base64 of "<offset>|<hash of every other parameter>": a cursor used
  with other parameters is a 400; cursors never expire.
- ``organization_ids[]`` is a 400 with ``error_code`` ``parent_organization_required`` (these are
  not parent organizations); ``group_by[]=organization_id`` reads null. Filters on dimensions the
  simulator never sets (RBAC groups, Claude Tag, Managed Agents IDs, user profiles) match nothing.
  ``report_page_too_large`` is never raised. No user is deleted, so ``exclude_deleted_users``
  (which requires ``group_by[]=actor``) removes nothing.
- ``data_refreshed_at`` is now, to the minute; ``refresh_lag_hours`` (a ``Simulator`` option) puts it
  that many hours earlier. The rows are not cut at it: only the watermark lags.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import polars as pl

from .analytics_view import COMPONENTS, TOKEN_METRICS, USAGE_COLUMNS
from .org import SyntheticOrg
from .params import Query, Request, invalid, not_found
from .reports import CONTEXT_WINDOWS, SERVICE_TIERS, SPEEDS, decode_cursor, encode_cursor, format_cents
from .timeutil import epoch_minutes, from_epoch_minutes, rfc3339

BETA = "analytics-usage-cost-2026-08-24"
FIRST_MOMENT = datetime(2026, 1, 1, tzinfo=UTC)
HISTORY = timedelta(days=365)
MAX_RANGE = timedelta(days=31)
MAX_MINUTE_RANGE = timedelta(hours=24)
BUCKET_MINUTES = {"1d": 24 * 60, "1h": 60, "1m": 1}
MAX_GROUP_BY = 5
# The `group` keys, in the order the API sends them; cost adds COST_KEYS.
GROUP_KEYS = (
    "product", "model", "context_window", "inference_geo", "speed", "slack_channel_id", "claude_tag_category",
    "claude_tag_user_id", "rbac_group_id", "actor", "actor_type", "api_key_id", "workspace_id", "service_tier",
    "agent_id", "deployment_id", "environment_id", "session_id", "user_profile_id", "organization_id",
)
COST_KEYS = ("cost_type", "token_type")
USAGE_ORDER_BY = ("output_tokens", "requests", "time", "total_tokens", "uncached_input_tokens")
COST_ORDER_BY = ("amount", "list_amount", "time")
ACTOR_TYPES = ("api_actor", "federated_actor", "service_account_actor", "user_actor")
PRODUCTS = ("chat", "chat_cowork_unified", "claude_code", "claude_console", "claude_design", "claude_in_chrome",
            "claude_tag", "cowork", "managed_agents_api", "message_batches_api", "messages_api", "office_agent")
CLAUDE_TAG_CATEGORIES = ("dm", "engaged", "monitoring", "proactive", "scheduled")
# filter parameter -> (group key, allowed values or None for IDs, the value that selects null)
FILTERS: dict[str, tuple[str, tuple[str, ...] | None, str | None]] = {
    "workspace_ids[]": ("workspace_id", None, None),
    "api_key_ids[]": ("api_key_id", None, ""),
    "actor_ids[]": ("actor", None, None),
    "actor_types[]": ("actor_type", ACTOR_TYPES, None),
    "models[]": ("model", None, None),
    "service_tiers[]": ("service_tier", SERVICE_TIERS, None),
    "context_windows[]": ("context_window", CONTEXT_WINDOWS, None),
    "inference_geos[]": ("inference_geo", ("global", "not_available", "us"), "not_available"),
    "speeds[]": ("speed", SPEEDS, None),
    "products[]": ("product", PRODUCTS, None),
    "claude_tag_categories[]": ("claude_tag_category", CLAUDE_TAG_CATEGORIES, None),
    **{f"{key}s[]": (key, None, None) for key in ("rbac_group_id", "slack_channel_id", "claude_tag_user_id", "agent_id",
                                                  "deployment_id", "environment_id", "session_id", "user_profile_id")},
}
_ACTOR_ID_PREFIXES = ("user_", "svac_", "apikey_")
_PARAMS = ("starting_at", "ending_at", "time_bucket_width", "group_by[]", "order_by", "order", "limit", "page",
           "exclude_deleted_users", "organization_ids[]", *FILTERS)


def usage(org: SyntheticOrg, request: Request) -> dict[str, Any]:
    return _report(org, request, cost=False)


def cost(org: SyntheticOrg, request: Request) -> dict[str, Any]:
    return _report(org, request, cost=True)


def _report(org: SyntheticOrg, request: Request, cost: bool) -> dict[str, Any]:
    if not org.analytics_available:
        raise not_found(f"GET {request.path}: not found")
    if BETA not in request.betas:
        raise invalid(f"anthropic-beta: this endpoint requires the beta header value {BETA}")
    if org.hipaa_ready:
        raise invalid("The Usage and Cost Analytics API is not available to organizations with HIPAA readiness enabled")
    query = request.query(_PARAMS)
    now = org.clock()
    start, end, width = _time_range(query, now)
    group_by = _group_by(query, cost)
    filters = _filters(query, group_by)
    order_by = query.text("order_by") or ("amount" if cost else "total_tokens")
    if order_by not in (COST_ORDER_BY if cost else USAGE_ORDER_BY):
        raise invalid(f"order_by: input should be one of {', '.join(COST_ORDER_BY if cost else USAGE_ORDER_BY)}; "
                      f"got {order_by!r}")
    order = query.text("order") or "desc"
    if order not in ("asc", "desc"):
        raise invalid(f"order: input should be asc or desc; got {order!r}")
    limit = query.integer("limit", 20, 1, 1000)
    fingerprint = query.fingerprint(request.path)
    offset = 0
    if (page := query.text("page")) is not None:
        position = decode_cursor(page, fingerprint)
        if not position.isdigit():
            raise invalid("page: invalid page token")
        offset = int(position)

    def build() -> pl.DataFrame:
        events = org.analytics_events(start, end, width, with_cost=cost)
        return _ordered(_combinations(_filtered(events, filters), group_by, cost), group_by, order_by, order, width)

    table = org.remembered(fingerprint, build)
    refreshed_at = now - timedelta(hours=org.refresh_lag_hours)
    following = offset + limit
    has_more = following < table.height
    render = _cost_rows if cost else _usage_rows
    grouped = {key for key in group_by if key not in COST_KEYS}
    rows = [
        row
        for combination in table.slice(offset, limit).iter_rows(named=True)
        for row in render(org, combination, grouped, group_by, _bounds(combination, start, end, width))
    ]
    return {
        "data": rows,
        "has_more": has_more,
        "next_page": encode_cursor(str(following), fingerprint) if has_more else None,
        "data_refreshed_at": rfc3339(from_epoch_minutes(epoch_minutes(refreshed_at))),
    }


# --- parameters ----------------------------------------------------------------------------------

def _time_range(query: Query, now: datetime) -> tuple[datetime, datetime, int | None]:
    """[start, end) to read and the bucket width in minutes (None: one row per combination)."""
    starting_at = query.timestamp("starting_at")
    if starting_at is None:
        raise invalid("starting_at: field required")
    width_name = query.text("time_bucket_width")
    if width_name is not None and width_name not in BUCKET_MINUTES:
        raise invalid(f"time_bucket_width: input should be one of {', '.join(BUCKET_MINUTES)}; got {width_name!r}")
    ending_at = query.timestamp("ending_at")
    if ending_at is None and width_name is not None:
        raise invalid("ending_at: field required when time_bucket_width is set")
    if starting_at < FIRST_MOMENT:
        raise invalid(f"starting_at: must be no earlier than {rfc3339(FIRST_MOMENT)}")
    if starting_at < now - HISTORY:
        raise invalid("starting_at: must be within the last 365 days")
    if ending_at is not None:
        if ending_at <= starting_at:
            raise invalid("ending_at: must be after starting_at")
        longest = MAX_MINUTE_RANGE if width_name == "1m" else MAX_RANGE
        if ending_at - starting_at > longest:
            raise invalid(f"ending_at: the range may span at most {'24 hours' if width_name == '1m' else '31 days'}")
    if width_name is None:
        end = ending_at if ending_at is not None else min(now, starting_at + MAX_RANGE)
        return _floor(starting_at, 60), max(_floor(end, 60), _floor(starting_at, 60)), None
    width = BUCKET_MINUTES[width_name]
    end_minute = epoch_minutes(ending_at - timedelta(microseconds=1)) + 1  # ending_at rounded up to the minute
    return _floor(starting_at, width), from_epoch_minutes(-(-end_minute // width) * width), width


def _floor(moment: datetime, minutes: int) -> datetime:
    return from_epoch_minutes(epoch_minutes(moment) // minutes * minutes)


def _group_by(query: Query, cost: bool) -> tuple[str, ...]:
    keys = GROUP_KEYS + (COST_KEYS if cost else ())
    group_by = tuple(dict.fromkeys(query.choices("group_by[]", keys)))
    counted = [key for key in group_by if key not in COST_KEYS]
    if len(counted) > MAX_GROUP_BY:
        raise invalid(f"group_by[]: at most {MAX_GROUP_BY} dimensions"
                      + (" (cost_type and token_type do not count)" if cost else "") + f"; got {len(counted)}")
    return group_by


def _filters(query: Query, group_by: tuple[str, ...]) -> dict[str, list[str]]:
    if query.texts("organization_ids[]"):
        raise invalid("organization_ids[]: requires an API key created at the parent organization level",
                      error_code="parent_organization_required")
    filters = {name: query.choices(name, allowed) if allowed else query.texts(name)
               for name, (_, allowed, _) in FILTERS.items()}
    if bad := [v for v in filters["actor_ids[]"] if not v.startswith(_ACTOR_ID_PREFIXES)]:
        raise invalid(f"actor_ids[]: expected tagged IDs (user_..., svac_..., apikey_...); got {bad[0]!r}")
    if "claude_tag_user_id" in group_by and ("rbac_group_id" in group_by or filters["rbac_group_ids[]"]):
        raise invalid("group_by[]=claude_tag_user_id cannot be combined with group_by[]=rbac_group_id "
                      "or the rbac_group_ids[] filter")
    if query.boolean("exclude_deleted_users", False) and "actor" not in group_by:
        raise invalid("exclude_deleted_users: requires group_by[]=actor")
    return {name: values for name, values in filters.items() if values}


# --- rows ----------------------------------------------------------------------------------------

def _filtered(events: pl.DataFrame, filters: dict[str, list[str]]) -> pl.DataFrame:
    for name, values in filters.items():
        key, _, null_value = FILTERS[name]
        if key not in events.columns:  # a dimension that is always null here: no usage matches
            return events.clear()
        column = pl.col(key)
        events = events.filter(column.is_in([v for v in values if v != null_value])
                               | (column.is_null() & pl.lit(null_value in values)))
    return events


def _combinations(events: pl.DataFrame, group_by: tuple[str, ...], cost: bool) -> pl.DataFrame:
    """One row per (bucket, combination) with usage (cost), its metrics summed."""
    columns = _group_columns(events, group_by)
    if cost:
        money = [f"{kind}_{c}" for c in COMPONENTS for kind in ("list", "amount")]
        table = events.group_by(["bucket", *columns]).agg(pl.col(*money, "requests").sum())
        table = table.with_columns(
            list_amount=pl.sum_horizontal(f"list_{c}" for c in COMPONENTS),
            amount=pl.sum_horizontal(f"amount_{c}" for c in COMPONENTS),
        )
        return table.filter(pl.col("list_amount") > 0)
    table = events.group_by(["bucket", *columns]).agg(pl.col(USAGE_COLUMNS).sum())
    table = table.with_columns(total_tokens=pl.sum_horizontal(TOKEN_METRICS.values()))
    return table.filter((pl.col("total_tokens") > 0) | (pl.col("web_search_requests") > 0) | (pl.col("requests") > 0))


def _group_columns(events: pl.DataFrame, group_by: tuple[str, ...]) -> list[str]:
    return [key for key in group_by if key in events.columns]


def _ordered(table: pl.DataFrame, group_by: tuple[str, ...], order_by: str, order: str, width: int | None) -> pl.DataFrame:
    metric = order_by
    if order_by == "time":  # within a bucket (or without buckets): the default metric
        metric = "amount" if "amount" in table.columns else "total_tokens"
    ties = ["bucket", *_group_columns(table, group_by)]
    if order_by == "time" and width is not None:
        return table.sort(["bucket", metric, *ties[1:]], descending=[order == "desc", True] + [False] * (len(ties) - 1),
                          nulls_last=False)
    return table.sort([metric, *ties], descending=[order == "desc"] + [False] * len(ties), nulls_last=False)


def _bounds(combination: dict[str, Any], start: datetime, end: datetime, width: int | None) -> tuple[str, str]:
    if width is None:
        return rfc3339(start), rfc3339(end)
    bucket = combination["bucket"]
    return rfc3339(from_epoch_minutes(bucket)), rfc3339(from_epoch_minutes(bucket + width))


def _group(org: SyntheticOrg, combination: dict[str, Any], grouped: set[str], keys: tuple[str, ...]) -> dict[str, Any]:
    group: dict[str, Any] = dict.fromkeys(keys)
    for key in grouped:
        value = combination.get(key)
        group[key] = org.analytics.actors.get(value) if key == "actor" and value is not None else value
    return group


def _usage_rows(org, combination, grouped, group_by, bounds) -> list[dict[str, Any]]:
    return [{
        "starting_at": bounds[0],
        "ending_at": bounds[1],
        "group": _group(org, combination, grouped, GROUP_KEYS),
        "usage": {
            "uncached_input_tokens": combination["uncached_input_tokens"],
            "cache_creation": {
                "ephemeral_1h_input_tokens": combination["cache_creation_1h_input_tokens"],
                "ephemeral_5m_input_tokens": combination["cache_creation_5m_input_tokens"],
            },
            "cache_read_input_tokens": combination["cache_read_input_tokens"],
            "output_tokens": combination["output_tokens"],
            "server_tool_use": {"web_search_requests": combination["web_search_requests"]},
            "requests": combination["requests"],
            "total_tokens": combination["total_tokens"],
        },
    }]


def _cost_rows(org, combination, grouped, group_by, bounds) -> list[dict[str, Any]]:
    """A combination's cost row, or its fan-out rows by cost type and/or token type."""
    by_type, by_token = "cost_type" in group_by, "token_type" in group_by
    parts = _cost_parts(combination, by_type, by_token)
    parts = sorted((p for p in parts if p[2] > 0), key=lambda p: (-p[3], p[0] or "", p[1] or ""))
    group = _group(org, combination, grouped, GROUP_KEYS + COST_KEYS)
    fanned_out = by_type or by_token
    return [{
        "starting_at": bounds[0],
        "ending_at": bounds[1],
        "group": group | {"cost_type": cost_type, "token_type": token_type},
        "cost": {
            "amount": format_cents(amount),
            "list_amount": format_cents(list_amount),
            "currency": "USD",
            "requests": None if fanned_out else combination["requests"],
        },
    } for cost_type, token_type, list_amount, amount in parts]


def _cost_parts(combination: dict[str, Any], by_type: bool, by_token: bool) -> list[tuple[str | None, str | None, Decimal, Decimal]]:
    """(cost_type, token_type, list cents, billed cents) of each row a combination fans out to."""
    def cents(components: tuple[str, ...]) -> tuple[Decimal, Decimal]:
        return (sum((combination[f"list_{c}"] for c in components), Decimal(0)),
                sum((combination[f"amount_{c}"] for c in components), Decimal(0)))

    others = ("web_search", "code_execution", "session_usage")
    tokens = [("tokens", token_type, *cents((token_type,))) for token_type in TOKEN_METRICS]
    if by_type and by_token:
        return tokens + [(cost_type, None, *cents((cost_type,))) for cost_type in others]
    if by_token:
        return tokens + [(None, None, *cents(others))]
    if by_type:
        return [("tokens", None, *cents(tuple(TOKEN_METRICS)))] + [(c, None, *cents((c,))) for c in others]
    return [(None, None, *cents(COMPONENTS))]
