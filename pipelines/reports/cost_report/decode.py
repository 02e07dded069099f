"""`GET /v1/organizations/cost_report` pages -> rows of `raw.cost_report`.

Grain: one row per daily bucket x workspace x description. `amount` is a decimal string in
cents, possibly fractional (`"123.78912"` = $1.2378912); it is kept exactly, never through
float. Negative amounts load (credits are plausible); junk or over-precise text is malformed.
"""

from __future__ import annotations

import dataclasses

import polars as pl

from pipelines.normalize.columns import add_money, require_values
from pipelines.normalize.drift import enum_drift
from pipelines.normalize.pages import ReportPage
from pipelines.normalize.report import ReportFormat, read_report

DIMENSIONS = (
    "workspace_id", "description", "cost_type", "model", "token_type",
    "service_tier", "context_window", "inference_geo",
)
KNOWN_VALUES = {
    "cost_type": {"tokens", "web_search", "code_execution", "session_usage"},
    "token_type": {
        "uncached_input_tokens", "output_tokens", "cache_read_input_tokens",
        "cache_creation.ephemeral_1h_input_tokens", "cache_creation.ephemeral_5m_input_tokens",
    },
    "service_tier": {"standard", "batch"},
    "context_window": {"0-200k", "200k-1M"},
    "inference_geo": {"global", "us", "not_available"},
}

RESULT_FORMAT = ReportFormat(
    result=pl.Struct(dict.fromkeys(("amount", "currency", *DIMENSIONS), pl.String)),
    strings=("amount", "currency"),
    documented=frozenset({"speed"}),  # documented Feb-Apr 2026 only; the table has no column for it
)


def decode_cost_report_page(body: bytes) -> ReportPage:
    """One page of the cost report: daily UTC buckets, amounts in cents and in USD."""
    page = read_report(body, RESULT_FORMAT)
    require_values(page.rows, ["amount", "currency"], "result")
    rows = add_money(page.rows, "amount", "amount_cents", "amount_usd").select(
        "bucket_start", "bucket_end", *DIMENSIONS, "currency", "amount_cents", "amount_usd", "extras"
    )
    return dataclasses.replace(page, rows=rows, drift=page.drift + enum_drift(rows, KNOWN_VALUES))
