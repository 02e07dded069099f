"""The report page shared by every bucketed report: the legacy messages-usage and cost reports
and the Usage and Cost Analytics API.

A legacy page is `{data: [{starting_at, ending_at, results: [row, ...]}], has_more, next_page}`;
an Analytics API page is flat, `{data: [{starting_at, ending_at, <row fields>}], has_more,
next_page, data_refreshed_at}` (`ReportFormat.flat`). `read_report` turns either into one frame
row per result, with the bucket bounds as UTC timestamps, in ONE polars parse of the bytes
against a fixed schema (the fastest way: no schema inference, no Python object per row). A fixed
schema coerces silently, though (`1.5` and `true` read as 1 into Int64, numbers read as text into
String, unknown keys vanish), so regex
scans of the same text guard it, all in one polars query (Rust regex engine, scans in
parallel) that runs in polars' threads while this thread parses the page:
- each measure key must hold a literal of the right kind (a non-negative integer, a string);
- keys outside the schema send the page down a `json.loads` path that keeps them per row
  in `extras` and counts them as drift. Pages without them never pay for that.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from pipelines.normalize.columns import parse_timestamps, require_values
from pipelines.normalize.drift import Shape, SchemaDrift, drift_and_extras, key_counts, key_names
from pipelines.normalize.pages import MalformedPage, ReportPage, has_more_value, parse_json, preview, read_json

# Starts of values that are not a plain non-negative integer (`-1`, `1.5`, `1e3`, `"1"`,
# `true`, `null`), and not a string. JSON allows only whitespace or a delimiter after a value.
_NOT_A_COUNT = r"(?:[^\d\s]|\d+[^\d\s,}\]])"
_NOT_A_STRING = r'[^"\s]'


@dataclass(frozen=True)
class ReportFormat:
    """What one report endpoint's result rows look like."""

    result: pl.Struct
    """The known fields of a result row, as the API nests them."""
    counts: tuple[str, ...] = ()
    """Keys whose values must be non-negative integer literals (token counters)."""
    strings: tuple[str, ...] = ()
    """Keys whose values must be string literals (money travels as decimal text)."""
    documented: frozenset[str] = frozenset()
    """Documented result fields without a column: kept in `extras`, not drift."""
    flat: bool = False
    """Rows are `data[]` itself, each with its own bounds (Analytics API), not `data[].results[]`."""

    @property
    def page_schema(self) -> dict[str, pl.DataType]:
        bounds = {"starting_at": pl.String, "ending_at": pl.String}
        if self.flat:
            row = pl.Struct({**bounds, **{field.name: field.dtype for field in self.result.fields}})
            return {"data": pl.List(row), "has_more": pl.Boolean, "next_page": pl.String, "data_refreshed_at": pl.String}
        bucket = pl.Struct({**bounds, "results": pl.List(self.result)})
        return {"data": pl.List(bucket), "has_more": pl.Boolean, "next_page": pl.String}

    @property
    def rows_path(self) -> str:
        """Where rows sit in a page, as drift paths name them."""
        return "data[]" if self.flat else "data[].results[]"


def read_report(body: bytes, report: ReportFormat) -> ReportPage:
    """One row per result: `bucket_start`, `bucket_end`, the result's top-level fields
    (nested objects stay structs), `extras`, and for flat pages `data_refreshed_at`.
    Empty buckets give no rows."""
    try:
        text = body.decode()
    except UnicodeDecodeError as error:
        raise MalformedPage(f"body is not UTF-8 text: {error}; body starts {preview(body)}") from error
    page_shape = _shape(pl.Struct(report.page_schema))
    screens = (
        pl.LazyFrame({"text": [text]})
        .select(
            bad_count=_bad_literal(report.counts, _NOT_A_COUNT),
            bad_string=_bad_literal(report.strings, _NOT_A_STRING),
            **key_counts("text", key_names(page_shape), escapes="\\" in text),
        )
        .collect(background=True)
    )
    try:
        page: pl.DataFrame | None = read_json(body, report.page_schema)
        parse_error = None
    except MalformedPage as error:  # reported after the literal checks, which come first
        page, parse_error = None, error
    screen = screens.fetch_blocking().row(0, named=True)
    for found, expected in ((screen["bad_count"], "a non-negative integer"), (screen["bad_string"], "a string")):
        if found is not None:
            raise MalformedPage(f"expected {expected}, found {found}")
    if page is None:
        raise parse_error
    has_more, next_page = has_more_value(page["has_more"][0]), page["next_page"][0]
    if page["data"].null_count():  # (indexing [0] would build the whole list in Python)
        raise MalformedPage("data is missing or null")
    buckets = page.select(pl.col("data").explode()).unnest("data")
    require_values(buckets, ["starting_at", "ending_at", *([] if report.flat else ["results"])], "bucket")
    buckets = parse_timestamps(buckets, "starting_at", "ending_at").rename(
        {"starting_at": "bucket_start", "ending_at": "bucket_end"}
    )
    if report.flat:
        refreshed = parse_timestamps(page.select("data_refreshed_at"), "data_refreshed_at")["data_refreshed_at"][0]
        rows = buckets.with_columns(data_refreshed_at=pl.lit(refreshed, pl.Datetime("us", "UTC")))
    else:
        rows = buckets.select("bucket_start", "bucket_end", "results").explode("results").unnest("results")

    if screen["key_ends"] == screen["known_keys"]:
        return ReportPage(rows.with_columns(extras=pl.lit(None, pl.String)), has_more, next_page, SchemaDrift())
    parsed = parse_json(body)
    results = parsed["data"] if report.flat else [row for bucket in parsed["data"] for row in bucket["results"]]
    row_shape = _shape(report.result) | ({"starting_at": None, "ending_at": None} if report.flat else {})
    drift, extras = drift_and_extras(
        parsed, page_shape, results, row_shape, (f"{report.rows_path}.{name}" for name in report.documented)
    )
    rows = rows.with_columns(pl.Series("extras", extras, dtype=pl.String))
    return ReportPage(rows, has_more, next_page, drift)


def _bad_literal(keys: Iterable[str], bad_value: str) -> pl.Expr:
    """The first of `keys` (plain names), anywhere in the page, holding a `bad_value`, with
    what follows it (null when there is none)."""
    keys = list(keys)
    if not keys:
        return pl.lit(None, pl.String)
    return pl.col("text").str.extract(rf'("(?:{"|".join(keys)})"\s*:\s*{bad_value}[^,}}\]]{{0,24}})', 1)


def _shape(dtype: pl.DataType) -> Shape | None:
    """The known keys of a polars type: a struct nests, a list is transparent."""
    while isinstance(dtype, pl.List):
        dtype = dtype.inner
    if not isinstance(dtype, pl.Struct):
        return None
    return {field.name: _shape(field.dtype) for field in dtype.fields}
