"""`GET /v1/organizations/analytics/usage` pages -> rows of `raw.analytics_usage`.

One row per API row: the bucket, every `group` key as a column (the actor flattened), and the
token counters, which are required non-negative integers like the legacy report's, plus `requests`
(nullable) and `total_tokens` as the API computed it.
"""

from __future__ import annotations

import dataclasses

import polars as pl

from pipelines.normalize.columns import require_values
from pipelines.normalize.drift import enum_drift
from pipelines.normalize.pages import ReportPage
from pipelines.normalize.report import ReportFormat, read_report
from pipelines.reports.analytics_api import KNOWN_VALUES, group_columns, group_struct

_usage = pl.col("usage").struct
_cache_creation = _usage.field("cache_creation").struct
TOKENS = {  # column -> where the API puts it
    "uncached_input_tokens": _usage.field("uncached_input_tokens"),
    "cache_creation_5m_input_tokens": _cache_creation.field("ephemeral_5m_input_tokens"),
    "cache_creation_1h_input_tokens": _cache_creation.field("ephemeral_1h_input_tokens"),
    "cache_read_input_tokens": _usage.field("cache_read_input_tokens"),
    "output_tokens": _usage.field("output_tokens"),
    "web_search_requests": _usage.field("server_tool_use").struct.field("web_search_requests"),
    "total_tokens": _usage.field("total_tokens"),
}

RESULT_FORMAT = ReportFormat(
    result=pl.Struct({
        "group": group_struct(),
        "usage": pl.Struct({
            "uncached_input_tokens": pl.Int64,
            "cache_creation": pl.Struct({"ephemeral_1h_input_tokens": pl.Int64, "ephemeral_5m_input_tokens": pl.Int64}),
            "cache_read_input_tokens": pl.Int64,
            "output_tokens": pl.Int64,
            "server_tool_use": pl.Struct({"web_search_requests": pl.Int64}),
            "requests": pl.Int64,
            "total_tokens": pl.Int64,
        }),
    }),
    counts=(
        "uncached_input_tokens", "ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens",
        "cache_read_input_tokens", "output_tokens", "web_search_requests", "total_tokens",
    ),
    flat=True,
)


def decode_analytics_usage_page(body: bytes) -> ReportPage:
    """One page of the usage analytics: rows with their bucket, group and token counts."""
    page = read_report(body, RESULT_FORMAT)
    rows = page.rows.select(
        "bucket_start",
        "bucket_end",
        *group_columns(),
        *(source.alias(column) for column, source in TOKENS.items()),
        _usage.field("requests").alias("requests"),
        "data_refreshed_at",
        "extras",
    )
    require_values(rows, TOKENS, "row")
    return dataclasses.replace(page, rows=rows, drift=page.drift + enum_drift(rows, KNOWN_VALUES))
