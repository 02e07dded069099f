"""Typed polars columns from API values: UTC timestamps, exact money, required values.

Shared by every decoder so each conversion has one definition and one failure message.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from pipelines.normalize.pages import MalformedPage, first_line

USD = pl.Decimal(38, 14)

_RFC3339 = "%Y-%m-%dT%H:%M:%S%.f%#z"
# Cents as plain decimal text. 12 fractional digits is the cents scale (DECIMAL(38,12)), and 24 integer digits
# is what USD = cents / 100 can hold in DECIMAL(38,14): beyond that the value would not fit
# both columns exactly, so it is a malformed page, not a rounding.
_PLAIN_DECIMAL = r"^-?\d{1,24}(\.\d{1,12})?$"


def parse_timestamps(frame: pl.DataFrame, *columns: str) -> pl.DataFrame:
    """RFC 3339 text (`Z` or an offset, optional fraction) to UTC microsecond timestamps."""
    try:
        return frame.with_columns(
            pl.col(column).cast(pl.String).str.to_datetime(_RFC3339, time_zone="UTC", time_unit="us")
            for column in columns
        )
    except pl.exceptions.InvalidOperationError as error:
        raise MalformedPage(f"bad timestamp: {first_line(error)}") from error


def add_money(frame: pl.DataFrame, text_column: str, cents_column: str, usd_column: str) -> pl.DataFrame:
    """Exact cents (DECIMAL(38,12)) and USD = cents / 100 (DECIMAL(38,14)) from decimal text.

    polars' `str.to_decimal` would round extra digits and null out junk, so the text is
    validated first; null text stays null.
    """
    text = pl.col(text_column).cast(pl.String)
    bad = frame.filter(text.is_not_null() & ~text.str.contains(_PLAIN_DECIMAL))
    if bad.height:
        raise MalformedPage(
            f"{text_column} {bad[text_column][0]!r} is not a plain decimal with at most "
            "24 integer and 12 fractional digits"
        )
    cents = text.str.to_decimal(scale=12)
    return frame.with_columns(cents.alias(cents_column), (cents.cast(USD) / 100).alias(usd_column))


def require_values(frame: pl.DataFrame, columns: Iterable[str], row_name: str) -> None:
    """Raise on the first null in a required column (an absent key, or an integer beyond
    Int64, reads as null)."""
    columns = list(columns)
    for column, nulls in zip(columns, frame.select(pl.col(columns).null_count()).row(0)):
        if nulls:
            first = frame[column].is_null().arg_true()[0]
            raise MalformedPage(f"{row_name} {first}: {column} is missing or null ({nulls} {row_name}(s))")
