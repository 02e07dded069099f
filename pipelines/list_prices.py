"""The inputs of ``marts.list_prices``: the reviewed price file and the per-hour prices it cannot hold.

``pipelines/data/prices.csv`` is a reviewed data file: when Anthropic changes a price, close the old
row (``effective_to``) and add a new one. Columns are USD per million tokens (``input``,
``cache_write_5m``, ``cache_write_1h``, ``cache_read``, ``output``), the multipliers for the Batch
API and for ``inference_geo = "us"`` data residency, and USD per 1,000 web searches.
``effective_from`` is inclusive and ``effective_to`` exclusive (empty = still in force), so the
day a price changes belongs to the new row.

What the file cannot express: Priority / flex tier prices (contract-specific, and absent from
the cost report), fast mode, the historic Sonnet 4/4.5 long-context premium and Haiku 5.5's 100k
prompt-length tier.

The first ``effective_from`` of each model is its launch date. For Claude Opus 5 and Sonnet 5 the
public launch date was not available to us: 2026-08-05 is an approximation (both are on the
2026-08-21 pricing page), and Sonnet 5.5's 2026-09-22 launch is from a third-party source.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl

DEFAULT_PRICES_CSV = Path(__file__).parent / "data" / "prices.csv"

# Non-token prices from the pricing page; they are not per model, so they are not in the CSV.
CODE_EXECUTION_USD_PER_CONTAINER_HOUR = Decimal("0.05")
SESSION_USD_PER_SESSION_HOUR = Decimal("0.08")


def read_price_file(path: Path | str = DEFAULT_PRICES_CSV) -> pl.DataFrame:
    """The price file's rows as text (list_prices.sql casts them to exact decimals).

    Refuses a row that ends before it starts and two rows of one model in force on the same day:
    either is a mistake in the reviewed file, caught before a build uses it.
    """
    rows = pl.read_csv(path, infer_schema=False)
    periods = (
        rows.select("model", pl.col("effective_from", "effective_to").str.to_date("%Y-%m-%d"))
        .sort("model", "effective_from")
        .with_columns(next_from=pl.col("effective_from").shift(-1).over("model"))
    )
    for model, effective_from, effective_to, next_from in periods.iter_rows():
        if effective_to is not None and effective_to <= effective_from:
            raise ValueError(f"price row for {model} ends before it starts: {effective_from}")
        if next_from is not None and (effective_to is None or effective_to > next_from):
            raise ValueError(f"price rows for {model} overlap at {next_from}")
    return rows
