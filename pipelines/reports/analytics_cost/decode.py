"""`GET /v1/organizations/analytics/cost` pages -> rows of `raw.analytics_cost`.

One row per API row: the bucket, every `group` key as a column (the actor flattened, plus
`cost_type` and `token_type`), and the billed `amount` (post-discount, pre-credit) beside the
`list_amount`, both decimal strings in cents kept exactly (never through float), and in USD.
"""

from __future__ import annotations

import dataclasses

import polars as pl

from pipelines.normalize.columns import add_money, require_values
from pipelines.normalize.drift import enum_drift
from pipelines.normalize.pages import ReportPage
from pipelines.normalize.report import ReportFormat, read_report
from pipelines.reports.analytics_api import KNOWN_VALUES, group_columns, group_struct

COST_KEYS = ("cost_type", "token_type")
COST_VALUES = {
    "cost_type": {"tokens", "web_search", "code_execution", "session_usage"},
    "token_type": {
        "uncached_input_tokens", "output_tokens", "cache_read_input_tokens",
        "cache_creation.ephemeral_1h_input_tokens", "cache_creation.ephemeral_5m_input_tokens",
    },
}
_cost = pl.col("cost").struct

RESULT_FORMAT = ReportFormat(
    result=pl.Struct({
        "group": group_struct(COST_KEYS),
        "cost": pl.Struct({"amount": pl.String, "list_amount": pl.String, "currency": pl.String, "requests": pl.Int64}),
    }),
    strings=("amount", "list_amount", "currency"),
    flat=True,
)


def decode_analytics_cost_page(body: bytes) -> ReportPage:
    """One page of the cost analytics: rows with their bucket, group and exact amounts."""
    page = read_report(body, RESULT_FORMAT)
    rows = page.rows.with_columns(
        amount=_cost.field("amount"), list_amount=_cost.field("list_amount"), currency=_cost.field("currency"),
    )
    require_values(rows, ["amount", "list_amount", "currency"], "row")
    rows = add_money(rows, "amount", "amount_cents", "amount_usd")
    rows = add_money(rows, "list_amount", "list_amount_cents", "list_amount_usd").select(
        "bucket_start",
        "bucket_end",
        *group_columns(COST_KEYS),
        "currency",
        "amount_cents",
        "list_amount_cents",
        "amount_usd",
        "list_amount_usd",
        _cost.field("requests").alias("requests"),
        "data_refreshed_at",
        "extras",
    )
    return dataclasses.replace(page, rows=rows, drift=page.drift + enum_drift(rows, KNOWN_VALUES | COST_VALUES))
