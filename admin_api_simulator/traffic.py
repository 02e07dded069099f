"""Synthetic Messages traffic: one record per (UTC hour, full dimension combination).

A fixed catalogue of *streams* (traffic source x model family x service tier x context window x
geo preference) is drawn once from the seed. For each UTC day every stream that can run that day is
active in an hour with a probability chosen so that about ``rows_per_hour`` streams are active per
hour, which is the number of result rows an hourly report grouped by every dimension returns. A
day is generated in one vectorised polars pass from that day's own random stream, so any day can
be generated alone, in any order, with the same result.

Models: a stream asks for "the newest (or second newest) model of a family" and gets whichever
price-table model that is on the day, so the organization moves to new models as they launch.
Models whose prices carry a US-residency premium are the ones that accept ``inference_geo``
(Claude 4.6 and later); the others report ``not_available``, run only the 0-200k context
window, and streams that insist on US residency skip them. Fast mode is not simulated (its price is
not in the price table), so ``speed`` is always "standard".

Inside an hour a record's tokens are spread evenly over ``minute_span`` minutes from
``minute_start``, with an integer split whose prefix sums are ``tokens * covered // span``; so any
minute range, and therefore any 1m/1h/1d bucket or a partial bucket cut at ``now``, gets an exact
integer share that adds up across buckets.
"""

from __future__ import annotations

import array
import math
import random
import sys
from datetime import date
from fractions import Fraction

import polars as pl

from .prices import PriceTable
from .entities import Cast, Workspace
from .timeutil import MINUTES_PER_HOUR, epoch_hour_of_day

DIMENSIONS = (
    "account_id",
    "api_key_id",
    "service_account_id",
    "workspace_id",
    "model",
    "service_tier",
    "context_window",
    "inference_geo",
)
USAGE_METRICS = (
    "uncached_input_tokens",
    "cache_creation_5m_input_tokens",
    "cache_creation_1h_input_tokens",
    "cache_read_input_tokens",
    "output_tokens",
    "web_search_requests",
)
# Only billed (cost report), never in the usage report: container and session time.
BILLING_ONLY_METRICS = ("code_execution_millihours", "session_millihours")
# Only in the Analytics API: Messages requests, and code-execution spans (its `requests` for code execution).
ANALYTICS_ONLY_METRICS = ("requests", "code_execution_spans")
METRICS = USAGE_METRICS + BILLING_ONLY_METRICS + ANALYTICS_ONLY_METRICS

SERVICE_TIERS = ("standard", "batch", "priority")
CONTEXT_WINDOWS = ("0-200k", "200k-1M")
INFERENCE_GEOS = ("global", "us", "not_available")
MODEL_FAMILIES = ("opus", "sonnet", "haiku")

# Relative activity per UTC hour (normalised to a mean of 1) and per weekday (Mon..Sun, mean 1).
_HOURLY_SHAPE = (0.45, 0.4, 0.35, 0.35, 0.4, 0.5, 0.7, 0.9, 1.1, 1.3, 1.4, 1.45,
                 1.5, 1.55, 1.6, 1.6, 1.55, 1.5, 1.4, 1.3, 1.1, 0.9, 0.7, 0.55)
_HOURLY_ACTIVITY = tuple(v * 24 / sum(_HOURLY_SHAPE) for v in _HOURLY_SHAPE)
_WEEKDAY_ACTIVITY = (1.12, 1.12, 1.12, 1.12, 1.12, 0.7, 0.7)

# How streams are drawn: (value, weight) choices.
_FAMILY_CHOICES = ((("sonnet", 0), 5), (("sonnet", 1), 2), (("opus", 0), 2), (("opus", 1), 1), (("haiku", 0), 3), (("haiku", 1), 1))
_TIER_CHOICES = (("standard", 14), ("batch", 4), ("priority", 2))
_CONTEXT_CHOICES = (("0-200k", 6), ("200k-1M", 1))
# Derived, not drawn (so the legacy reports' numbers do not move): a request per this many uncached
# input tokens (at least one), and an execution span per started tenth of a container-hour.
_INPUT_TOKENS_PER_REQUEST = 2_500
_MILLIHOURS_PER_SPAN = 100


def model_family(model: str) -> str | None:
    return next((family for family in MODEL_FAMILIES if family in model), None)


def models_on(prices: PriceTable, day: date) -> dict[tuple[str, int], str]:
    """(family, generation lag) -> model on that day: lag 0 is the newest launched model."""
    by_family: dict[str, list[str]] = {}
    for model in prices.models:
        family = model_family(model)
        if family and prices.launch_day(model) <= day:
            by_family.setdefault(family, []).append(model)
    roster = {}
    for family, models in by_family.items():
        for lag, model in enumerate(sorted(models, key=prices.launch_day, reverse=True)[:2]):
            roster[(family, lag)] = model
    return roster


def accepts_inference_geo(prices: PriceTable, model: str, day: date) -> bool:
    return prices.row(model, day).us_geo_multiplier != 1


def uniforms(rng: random.Random, n: int) -> pl.Series:
    """n floats in [0, 1) from the stdlib generator, fast and stable across versions."""
    words = array.array("I")
    words.frombytes(rng.randbytes(4 * n))
    if sys.byteorder == "big":
        words.byteswap()
    return pl.Series(words, dtype=pl.UInt32).cast(pl.Float64) / 2.0**32


class Traffic:
    """Generates a day's hourly usage records for one organization."""

    def __init__(self, seed: int, cast: Cast, prices: PriceTable, rows_per_hour: int):
        if rows_per_hour < 1:
            raise ValueError("rows_per_hour must be at least 1")
        self._seed = seed
        self._prices = prices
        self._rows_per_hour = rows_per_hour
        workspaces = {w.id: w for w in cast.workspaces}
        self.dimension_types: dict[str, pl.Enum] = {
            "account_id": pl.Enum(sorted({s.account_id for s in cast.traffic_sources if s.account_id})),
            "api_key_id": pl.Enum(sorted({s.api_key_id for s in cast.traffic_sources if s.api_key_id})),
            "service_account_id": pl.Enum(sorted({s.service_account_id for s in cast.traffic_sources if s.service_account_id})),
            "workspace_id": pl.Enum(sorted(workspaces)),
            "model": pl.Enum(prices.models),
            "service_tier": pl.Enum(SERVICE_TIERS),
            "context_window": pl.Enum(CONTEXT_WINDOWS),
            "inference_geo": pl.Enum(INFERENCE_GEOS),
        }
        self._streams = self._draw_streams(cast, workspaces)

    @property
    def empty_records(self) -> pl.DataFrame:
        schema = {"hour": pl.Int64, **self.dimension_types, **{m: pl.Int64 for m in METRICS},
                  "minute_start": pl.Int64, "minute_span": pl.Int64}
        return pl.DataFrame(schema=schema)

    def day_records(self, day: date, restatement: Fraction = Fraction(1)) -> pl.DataFrame:
        """The day's hourly records, every metric multiplied by the restatement factor (floored)."""
        streams = self._streams_on(day)
        if streams.is_empty():
            return self.empty_records
        rng = random.Random(f"{self._seed}:usage:{day.isoformat()}")
        weekday = _WEEKDAY_ACTIVITY[day.weekday()]
        first_hour = epoch_hour_of_day(day)
        hours = pl.DataFrame({
            "hour": range(first_hour, first_hour + 24),
            "activity": [a * weekday for a in _HOURLY_ACTIVITY],
        })
        share = self._rows_per_hour / streams["weight"].sum()
        grid = streams.join(hours, how="cross", maintain_order="left_right")
        grid = grid.with_columns(uniforms(rng, grid.height).alias("draw"))
        grid = grid.filter(pl.col("draw") < pl.col("weight") * share * pl.col("activity"))
        grid = grid.with_columns(uniforms(rng, grid.height).alias(f"noise{i}") for i in range(9))
        noise = [pl.col(f"noise{i}") for i in range(9)]
        volume = pl.col("volume") * (0.5 + noise[0])

        def scaled(ratio: str, draw: pl.Expr) -> pl.Expr:
            return (volume * pl.col(ratio) * (0.5 + draw)).floor().cast(pl.Int64)

        def up_to_twice(mean: str, draw: pl.Expr) -> pl.Expr:
            return (pl.col(mean) * 2 * draw).floor().cast(pl.Int64)

        minute_start = (noise[7] * MINUTES_PER_HOUR).floor().cast(pl.Int64)
        uncached_input_tokens = volume.floor().cast(pl.Int64) + 1
        code_execution_millihours = up_to_twice("code_execution", noise[5])
        records = grid.select(
            "hour",
            *DIMENSIONS,
            uncached_input_tokens=uncached_input_tokens,
            cache_creation_5m_input_tokens=scaled("cache_5m_ratio", noise[1]),
            cache_creation_1h_input_tokens=scaled("cache_1h_ratio", noise[1]),
            cache_read_input_tokens=scaled("cache_read_ratio", noise[2]),
            output_tokens=scaled("output_ratio", noise[3]),
            web_search_requests=up_to_twice("web_searches", noise[4]),
            code_execution_millihours=code_execution_millihours,
            session_millihours=up_to_twice("sessions", noise[6]),
            requests=uncached_input_tokens // _INPUT_TOKENS_PER_REQUEST + 1,
            code_execution_spans=(code_execution_millihours + _MILLIHOURS_PER_SPAN - 1) // _MILLIHOURS_PER_SPAN,
            minute_start=minute_start,
            minute_span=1 + (noise[8] * (MINUTES_PER_HOUR - minute_start)).floor().cast(pl.Int64),
        )
        if restatement != 1:
            records = records.with_columns(
                (pl.col(m) * restatement.numerator // restatement.denominator) for m in METRICS
            )
        return records

    def _streams_on(self, day: date) -> pl.DataFrame:
        """Streams able to run on the day, with the day's model and inference geo resolved."""
        roster = [
            (family, lag, model, accepts_inference_geo(self._prices, model, day))
            for (family, lag), model in models_on(self._prices, day).items()
        ]
        if not roster:
            return pl.DataFrame()
        models = pl.DataFrame(roster, schema=["family", "lag", "model", "accepts_geo"], orient="row")
        active = self._streams.filter(
            (pl.col("active_from") <= day) & (pl.col("active_until").is_null() | (pl.col("active_until") > day))
        ).join(models, on=["family", "lag"], maintain_order="left")
        active = active.filter(pl.col("accepts_geo") | (~pl.col("wants_us") & (pl.col("context_window") == "0-200k")))
        return active.with_columns(
            pl.col("model").cast(self.dimension_types["model"]),
            inference_geo=pl.when(~pl.col("accepts_geo")).then(pl.lit("not_available"))
            .when(pl.col("wants_us")).then(pl.lit("us")).otherwise(pl.lit("global"))
            .cast(self.dimension_types["inference_geo"]),
        )

    def _draw_streams(self, cast: Cast, workspaces: dict[str, Workspace]) -> pl.DataFrame:
        """The stream catalogue: about five streams per wanted row, unique by dimensions."""
        rng = random.Random(f"{self._seed}:streams:{self._rows_per_hour}")
        wanted = max(5 * self._rows_per_hour, 60)
        streams: dict[tuple, dict] = {}
        for _ in range(wanted * 20):
            if len(streams) >= wanted:
                break
            source = rng.choice(cast.traffic_sources)
            family, lag = _weighted(rng, _FAMILY_CHOICES)
            tier = _weighted(rng, _TIER_CHOICES)
            context_window = _weighted(rng, _CONTEXT_CHOICES)
            wants_us = workspaces[source.workspace_id].default_inference_geo == "us" or rng.random() < 0.2
            key = (source, family, lag, tier, context_window, wants_us)
            if key in streams:
                continue
            billed_extras = tier != "priority"  # priority-tier usage has no cost rows at all
            streams[key] = {
                "account_id": source.account_id,
                "api_key_id": source.api_key_id,
                "service_account_id": source.service_account_id,
                "workspace_id": source.workspace_id,
                "family": family,
                "lag": lag,
                "service_tier": tier,
                "context_window": context_window,
                "wants_us": wants_us,
                "active_from": source.active_from,
                "active_until": source.active_until,
                "weight": 0.2 + 0.8 * rng.random(),
                "volume": math.exp(math.log(2_000) + rng.random() * math.log(200)) * (3 if tier == "batch" else 1),
                "output_ratio": 0.05 + 0.45 * rng.random(),
                "cache_read_ratio": 4 * rng.random() if rng.random() < 0.7 else 0.0,
                "cache_5m_ratio": 0.3 * rng.random() if rng.random() < 0.6 else 0.0,
                "cache_1h_ratio": 0.2 * rng.random() if rng.random() < 0.25 else 0.0,
                "web_searches": 20 * rng.random() if rng.random() < 0.2 else 0.0,
                "code_execution": 3_000 * rng.random() if billed_extras and rng.random() < 0.1 else 0.0,
                "sessions": 2_000 * rng.random() if billed_extras and rng.random() < 0.08 else 0.0,
            }
        dims = self.dimension_types
        return pl.DataFrame(list(streams.values())).with_columns(
            pl.col(name).cast(dims[name])
            for name in ("account_id", "api_key_id", "service_account_id", "workspace_id", "service_tier", "context_window")
        ).with_columns(pl.col("active_from").cast(pl.Date), pl.col("active_until").cast(pl.Date))


def _weighted(rng: random.Random, choices: tuple) -> object:
    values, weights = zip(*choices)
    return rng.choices(values, weights=weights)[0]


def visible_metrics(records: pl.DataFrame, start_minute: int, end_minute: int) -> pl.DataFrame:
    """Each hourly record's metrics that fall in epoch minutes [start_minute, end_minute).

    Records outside the window are dropped, records at its edges get their exact integer share.
    """
    hour_start = pl.col("hour") * MINUTES_PER_HOUR
    records = records.filter((hour_start < end_minute) & (hour_start + MINUTES_PER_HOUR > start_minute))
    first = (start_minute - hour_start).clip(0, MINUTES_PER_HOUR)
    last = (end_minute - hour_start).clip(0, MINUTES_PER_HOUR)
    covered_to_last = (last - pl.col("minute_start")).clip(0, pl.col("minute_span"))
    covered_to_first = (first - pl.col("minute_start")).clip(0, pl.col("minute_span"))
    span = pl.col("minute_span")
    return records.with_columns(
        (pl.col(m) * covered_to_last // span - pl.col(m) * covered_to_first // span) for m in METRICS
    )


def split_into_minutes(records: pl.DataFrame, start_minute: int, end_minute: int) -> pl.DataFrame:
    """One row per (record, minute) in epoch minutes [start_minute, end_minute) with usage."""
    hour_start = pl.col("hour") * MINUTES_PER_HOUR
    records = records.filter((hour_start < end_minute) & (hour_start + MINUTES_PER_HOUR > start_minute))
    first = pl.max_horizontal(pl.col("minute_start"), start_minute - hour_start)
    last = pl.min_horizontal(pl.col("minute_start") + pl.col("minute_span"), end_minute - hour_start)
    minutes = records.with_columns(m=pl.int_ranges(first, pl.max_horizontal(first, last))).explode("m")
    minutes = minutes.drop_nulls("m")
    offset = pl.col("m") - pl.col("minute_start")
    span = pl.col("minute_span")
    return minutes.with_columns(
        *((pl.col(m) * (offset + 1) // span - pl.col(m) * offset // span) for m in METRICS),
        minute=hour_start + pl.col("m"),
    )
