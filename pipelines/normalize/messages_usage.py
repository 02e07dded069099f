"""`GET /v1/organizations/usage_report/messages` pages -> rows of `raw.messages_usage`.

Grain: one row per bucket x grouped dimensions, as the API sent it. Token counters are
required non-negative integers (a missing one is a malformed page, never a 0); dimensions
are nullable, and null is a real value (workspace_id null = the default workspace).
"""

from __future__ import annotations

import dataclasses

import polars as pl

from pipelines.normalize.columns import require_values
from pipelines.normalize.drift import enum_drift
from pipelines.normalize.pages import ReportPage
from pipelines.normalize.report import ReportFormat, read_report
from pipelines.settings import BUCKET_WIDTHS

DIMENSIONS = (
    "workspace_id", "api_key_id", "account_id", "service_account_id", "model",
    "service_tier", "context_window", "inference_geo", "speed",
)
KNOWN_VALUES = {
    "service_tier": {"standard", "batch", "priority", "priority_on_demand", "flex", "flex_discount"},
    "context_window": {"0-200k", "200k-1M"},
    "inference_geo": {"global", "us", "not_available"},
    "speed": {"standard", "fast"},
}

_cache_creation = pl.col("cache_creation").struct
_server_tool_use = pl.col("server_tool_use").struct
TOKENS = {  # column -> where the API puts it
    "uncached_input_tokens": pl.col("uncached_input_tokens"),
    "cache_creation_5m_input_tokens": _cache_creation.field("ephemeral_5m_input_tokens"),
    "cache_creation_1h_input_tokens": _cache_creation.field("ephemeral_1h_input_tokens"),
    "cache_read_input_tokens": pl.col("cache_read_input_tokens"),
    "output_tokens": pl.col("output_tokens"),
    "web_search_requests": _server_tool_use.field("web_search_requests"),
}

MESSAGES_USAGE = ReportFormat(
    result=pl.Struct({
        "uncached_input_tokens": pl.Int64,
        "cache_creation": pl.Struct({"ephemeral_5m_input_tokens": pl.Int64, "ephemeral_1h_input_tokens": pl.Int64}),
        "cache_read_input_tokens": pl.Int64,
        "output_tokens": pl.Int64,
        "server_tool_use": pl.Struct({"web_search_requests": pl.Int64}),
        **{dimension: pl.String for dimension in DIMENSIONS},
    }),
    counts=(
        "uncached_input_tokens", "ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens",
        "cache_read_input_tokens", "output_tokens", "web_search_requests",
    ),
)


def decode_messages_usage_page(body: bytes, bucket_width: str) -> ReportPage:
    """One page of the messages usage report; `bucket_width` is the one requested (`1m|1h|1d`).

    Bucket bounds are UTC instants, start inclusive and end exclusive.
    """
    if bucket_width not in BUCKET_WIDTHS:
        raise ValueError(f"bucket_width must be one of {sorted(BUCKET_WIDTHS)}, got {bucket_width!r}")
    page = read_report(body, MESSAGES_USAGE)
    rows = page.rows.select(
        "bucket_start",
        "bucket_end",
        pl.lit(bucket_width).alias("bucket_width"),
        *DIMENSIONS,
        *(source.alias(column) for column, source in TOKENS.items()),
        "extras",
    )
    require_values(rows, TOKENS, "result")
    return dataclasses.replace(page, rows=rows, drift=page.drift + enum_drift(rows, KNOWN_VALUES))
