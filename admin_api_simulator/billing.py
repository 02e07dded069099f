"""What the cost report bills for a day: usage x the effective-dated price table, exactly.

Where the real API differs from "usage x price", so does this: Priority Tier usage is never billed
here (the cost report leaves it out), web search is billed from the usage report's
``web_search_requests``, and code execution and session runtime are billed from metrics the usage
report never shows. All container-hours are billed (the monthly free allowance is not simulated).

Descriptions follow the documented pattern "<display name> Usage - <token type>"; the real
suffixes are not documented, so to keep one description per (model, token_type, service_tier,
context_window, inference_geo) we append ", Batch" for the batch tier, ", Long Context" for the
200k-1M window and ", US" for US inference (e.g. "Claude Opus 4.6 Usage - Output Tokens, Batch, US").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext

import polars as pl

from pipelines.list_prices import CODE_EXECUTION_USD_PER_CONTAINER_HOUR, SESSION_USD_PER_SESSION_HOUR

from .prices import PriceTable

# token_type -> (the usage metric it bills, the description's wording)
TOKEN_TYPES = {
    "uncached_input_tokens": ("uncached_input_tokens", "Input Tokens"),
    "output_tokens": ("output_tokens", "Output Tokens"),
    "cache_read_input_tokens": ("cache_read_input_tokens", "Cache Read Input Tokens"),
    "cache_creation.ephemeral_5m_input_tokens": ("cache_creation_5m_input_tokens", "5m Cache Write Input Tokens"),
    "cache_creation.ephemeral_1h_input_tokens": ("cache_creation_1h_input_tokens", "1h Cache Write Input Tokens"),
}
_CENTS_PER_USD = 100
_TOKENS_PER_MTOK = 1_000_000
_MILLIHOURS_PER_HOUR = 1_000
_SEARCHES_PER_PRICE_UNIT = 1_000
# Exact arithmetic: enough digits that no product or sum here is ever rounded.
_PRECISION = 60


@dataclass(frozen=True)
class CostLineItem:
    """One billed line of a day: the finest grain the cost report can group by."""

    workspace_id: str
    description: str
    cost_type: str
    model: str | None
    token_type: str | None
    service_tier: str | None
    context_window: str | None
    inference_geo: str | None
    amount_cents: Decimal


def line_items(usage: pl.DataFrame, day: date, prices: PriceTable) -> list[CostLineItem]:
    """Bill one UTC day of (visible) usage records."""
    billable = usage.filter(pl.col("service_tier") != "priority")
    items: list[CostLineItem] = []
    with localcontext(prec=_PRECISION):
        items += _token_items(billable, day, prices)
        items += _web_search_items(billable, day, prices)
        items += _runtime_items(billable)
    return [item for item in items if item.amount_cents]


def describe(display_name: str, token_type: str, service_tier: str, context_window: str, inference_geo: str) -> str:
    suffixes = [
        label
        for applies, label in (
            (service_tier == "batch", "Batch"),
            (context_window == "200k-1M", "Long Context"),
            (inference_geo == "us", "US"),
        )
        if applies
    ]
    return f"{display_name} Usage - " + ", ".join([TOKEN_TYPES[token_type][1], *suffixes])


def _token_items(usage: pl.DataFrame, day: date, prices: PriceTable) -> list[CostLineItem]:
    keys = ["workspace_id", "model", "service_tier", "context_window", "inference_geo"]
    metrics = [metric for metric, _ in TOKEN_TYPES.values()]
    totals = usage.group_by(keys).agg(pl.col(metrics).sum()).sort(keys)
    items = []
    for row in totals.iter_rows(named=True):
        display_name = prices.display_name(row["model"])
        for token_type, (metric, _) in TOKEN_TYPES.items():
            price = prices.price_per_mtok(row["model"], token_type, day, row["service_tier"], row["inference_geo"])
            items.append(CostLineItem(
                workspace_id=row["workspace_id"],
                description=describe(display_name, token_type, row["service_tier"], row["context_window"], row["inference_geo"]),
                cost_type="tokens",
                model=row["model"],
                token_type=token_type,
                service_tier=row["service_tier"],
                context_window=row["context_window"],
                inference_geo=row["inference_geo"],
                amount_cents=row[metric] * price * _CENTS_PER_USD / _TOKENS_PER_MTOK,
            ))
    return items


def _web_search_items(usage: pl.DataFrame, day: date, prices: PriceTable) -> list[CostLineItem]:
    totals = usage.group_by("workspace_id", "model").agg(pl.col("web_search_requests").sum())
    cents_by_workspace: dict[str, Decimal] = {}
    for workspace_id, model, searches in totals.iter_rows():
        cents = searches * prices.web_search_per_1k(model, day) * _CENTS_PER_USD / _SEARCHES_PER_PRICE_UNIT
        cents_by_workspace[workspace_id] = cents_by_workspace.get(workspace_id, Decimal(0)) + cents
    return [_non_token_item(workspace_id, "Web Search Usage", "web_search", cents)
            for workspace_id, cents in sorted(cents_by_workspace.items())]


def _runtime_items(usage: pl.DataFrame) -> list[CostLineItem]:
    totals = usage.group_by("workspace_id").agg(pl.col("code_execution_millihours", "session_millihours").sum())
    items = []
    for workspace_id, container_millihours, session_millihours in totals.sort("workspace_id").iter_rows():
        items.append(_non_token_item(
            workspace_id, "Code Execution Usage", "code_execution",
            container_millihours * CODE_EXECUTION_USD_PER_CONTAINER_HOUR * _CENTS_PER_USD / _MILLIHOURS_PER_HOUR,
        ))
        items.append(_non_token_item(
            workspace_id, "Session Usage", "session_usage",
            session_millihours * SESSION_USD_PER_SESSION_HOUR * _CENTS_PER_USD / _MILLIHOURS_PER_HOUR,
        ))
    return items


def _non_token_item(workspace_id: str, description: str, cost_type: str, cents: Decimal) -> CostLineItem:
    return CostLineItem(workspace_id, description, cost_type, None, None, None, None, None, cents)
