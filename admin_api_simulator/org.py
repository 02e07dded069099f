"""The synthetic organization: its cast, its usage, cost and Claude Code data as of ``now``.

Everything the server serves comes from here, and so do the ``expected_*`` answers tests compare
against. Data starts on 2025-01-01 (earlier days are empty). Visibility rules, chosen where the
API's documentation is silent:

- usage becomes visible minute by minute: a minute's usage appears once that minute has ended, so
  the bucket containing ``now`` holds exactly the usage of its completed minutes, and nothing at or
  after ``now`` is ever served;
- cost is billed from that same visible usage, so today's cost grows during the day;
- a day of Claude Code data is served only once the whole day ended more than 1 hour ago
  (the API serves only data older than 1 hour; serving whole days keeps a day's rows
  stable once they appear).

The Usage and Cost Analytics API reads the same records through ``analytics_view``; an
organization is a Claude Console one (``org_type="console"``) or a Claude Enterprise one, and may be
HIPAA-ready or have no Analytics API at all (``analytics_available=False``); ``refresh_lag_hours``
puts its Analytics API's ``data_refreshed_at`` that far behind now (an export that stopped refreshing).

``restate(day, factor)`` models a late revision: from then on every metric of that day (usage,
hence cost, and Claude Code) is multiplied by ``factor`` and rounded down.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from fractions import Fraction
from typing import Any

import polars as pl

from .analytics_view import COMPONENTS, AnalyticsView
from .prices import PriceTable
from .billing import CostLineItem, line_items
from .claude_code import claude_code_rows
from .entities import build_cast
from .timeutil import MINUTES_PER_HOUR, day_start, days_between, epoch_minutes, from_epoch_minutes
from .traffic import USAGE_METRICS, Traffic, split_into_minutes, visible_metrics

FIRST_DAY = date(2025, 1, 1)
CLAUDE_CODE_DELAY = timedelta(hours=1)
_ANALYTICS_TABLES_KEPT = 8  # a query's rows are kept for its next pages


class _AnyWorkspace(Enum):
    ANY = "any"


ANY = _AnyWorkspace.ANY
"""Pass as ``workspace_id`` to mean every workspace."""


class SyntheticOrg:
    """One organization, fully determined by its seed, read at the time ``clock()`` returns."""

    def __init__(
        self,
        seed: int,
        prices: PriceTable,
        clock: Callable[[], datetime],
        usage_rows_per_hour: int = 24,
        org_type: str = "console",
        hipaa_ready: bool = False,
        analytics_available: bool = True,
        refresh_lag_hours: float = 0.0,
    ):
        self.prices = prices
        self.clock = clock
        self.cast = build_cast(seed)
        self.analytics = AnalyticsView(self.cast, prices, org_type)
        self.hipaa_ready = hipaa_ready
        self.analytics_available = analytics_available
        self.refresh_lag_hours = refresh_lag_hours
        self._analytics_tables: OrderedDict[Hashable, Any] = OrderedDict()
        self._analytics_lock = threading.Lock()
        self._traffic = Traffic(seed, self.cast, prices, usage_rows_per_hour)
        self._restatements: dict[date, Fraction] = {}
        # Cached per (day, restatement factor), so a restatement never races a stale cache entry.
        self._day_records = functools.lru_cache(maxsize=1024)(self._traffic.day_records)
        self._bill = functools.lru_cache(maxsize=1024)(self._bill_uncached)
        self._claude_code_rows = functools.lru_cache(maxsize=1024)(
            functools.partial(claude_code_rows, self.cast, prices, seed)
        )

    @property
    def org_type(self) -> str:
        return self.analytics.org_type

    @property
    def organization_id(self) -> str:
        return self.cast.organization_id

    @property
    def default_workspace_id(self) -> str:
        """The default workspace's real ID (the reports call it null)."""
        return self.cast.default_workspace.id

    def restate(self, day: date, factor: Fraction | float | int = Fraction(5, 4)) -> None:
        """From now on, that UTC day's usage, cost and Claude Code numbers are x factor (floored)."""
        factor = Fraction(factor).limit_denominator(10_000)
        if factor <= 0:
            raise ValueError("a restatement factor must be positive")
        self._restatements[day] = factor

    # --- usage -------------------------------------------------------------------------------

    def hourly_usage(self, start: datetime, end: datetime) -> pl.DataFrame:
        """Hourly records, with the metrics that fall in [start, end) and before ``now``."""
        start_minute, end_minute = self._visible_minutes(start, end)
        return visible_metrics(self._records(start_minute, end_minute), start_minute, end_minute)

    def minute_usage(self, start: datetime, end: datetime) -> pl.DataFrame:
        """Per-minute records (column ``minute``) in [start, end), before ``now``."""
        start_minute, end_minute = self._visible_minutes(start, end)
        return split_into_minutes(self._records(start_minute, end_minute), start_minute, end_minute)

    def expected_usage_totals(self, start: datetime, end: datetime) -> dict[str, int]:
        """Usage-report totals over every bucket in [start, end), as visible at ``now``."""
        return self.hourly_usage(start, end).select(pl.col(USAGE_METRICS).sum()).row(0, named=True)

    # --- cost --------------------------------------------------------------------------------

    def cost_line_items(self, day: date) -> list[CostLineItem]:
        """The day's billed line items, as visible at ``now``."""
        start_minute, end_minute = self._visible_minutes(day_start(day), day_start(day + timedelta(days=1)))
        return self._bill(day, self._restatement(day), start_minute, end_minute)

    def expected_cost_cents(
        self, start: date, end_inclusive: date, workspace_id: str | None | _AnyWorkspace = ANY
    ) -> Decimal:
        """Exact billed cents over the UTC days [start, end_inclusive]; workspace None = default."""
        if workspace_id is None:
            workspace_id = self.default_workspace_id
        total = Decimal(0)
        for offset in range((end_inclusive - start).days + 1):
            for item in self.cost_line_items(start + timedelta(days=offset)):
                if workspace_id is ANY or item.workspace_id == workspace_id:
                    total += item.amount_cents
        return total

    # --- Usage and Cost Analytics API ---------------------------------------------------------

    def analytics_events(self, start: datetime, end: datetime, bucket_minutes: int | None, with_cost: bool) -> pl.DataFrame:
        """Analytics events in [start, end) before ``now``; ``bucket`` is the epoch minute its time
        bucket starts (buckets ``bucket_minutes`` wide on the UTC grid; None: one bucket, ``start``)."""
        start_minute, end_minute = self._visible_minutes(start, end)
        records = self.analytics.attribute(self._records(start_minute, end_minute))
        if bucket_minutes == 1:
            records = split_into_minutes(records, start_minute, end_minute).with_columns(bucket=pl.col("minute"))
        else:
            bucket = (pl.col("hour") * MINUTES_PER_HOUR // bucket_minutes * bucket_minutes if bucket_minutes
                      else pl.lit(epoch_minutes(start), pl.Int64))
            records = visible_metrics(records, start_minute, end_minute).with_columns(bucket=bucket)
        return self.analytics.events(records, with_cost)

    def discount_usd(self, model: str, day: date) -> Decimal:
        """List minus billed cost of the model on the UTC day, as visible at ``now``: its discount."""
        events = self.analytics_events(day_start(day), day_start(day + timedelta(days=1)), None, with_cost=True)
        events = events.filter(pl.col("model") == model)
        cents = sum(Decimal(events[f"list_{c}"].sum()) - Decimal(events[f"amount_{c}"].sum()) for c in COMPONENTS)
        return cents / 100

    def remembered(self, key: Hashable, build: Callable[[], Any]) -> Any:
        """``build()``, kept for the same key, clock reading and restatements (a query's later pages)."""
        key = (key, self.clock(), tuple(sorted(self._restatements.items())))
        with self._analytics_lock:
            if key in self._analytics_tables:
                self._analytics_tables.move_to_end(key)
                return self._analytics_tables[key]
        value = build()
        with self._analytics_lock:
            self._analytics_tables[key] = value
            while len(self._analytics_tables) > _ANALYTICS_TABLES_KEPT:
                self._analytics_tables.popitem(last=False)
        return value

    # --- Claude Code -------------------------------------------------------------------------

    def claude_code_rows(self, day: date) -> list[dict[str, Any]]:
        """The day's Claude Code rows, or none while the day is not yet served."""
        if day < FIRST_DAY or self.clock() - day_start(day + timedelta(days=1)) <= CLAUDE_CODE_DELAY:
            return []
        return self._claude_code_rows(day, self._restatement(day))

    def expected_claude_code_rows(self, day: date) -> int:
        """How many rows the Claude Code report serves for the day at ``now``."""
        return len(self.claude_code_rows(day))

    # --- internals ---------------------------------------------------------------------------

    def _visible_minutes(self, start: datetime, end: datetime) -> tuple[int, int]:
        """[start, end) cut at ``now``, in epoch minutes (whole minutes only)."""
        return epoch_minutes(start), min(epoch_minutes(end), epoch_minutes(self.clock()))

    def _records(self, start_minute: int, end_minute: int) -> pl.DataFrame:
        """The hourly records of every day that [start_minute, end_minute) touches."""
        if end_minute <= start_minute:
            return self._traffic.empty_records
        days = days_between(from_epoch_minutes(start_minute), from_epoch_minutes(end_minute))
        frames = [self._day_records(d, self._restatement(d)) for d in days if d >= FIRST_DAY]
        return pl.concat(frames) if frames else self._traffic.empty_records

    def _bill_uncached(self, day: date, restatement: Fraction, start_minute: int, end_minute: int) -> list[CostLineItem]:
        """Line items of the day's usage in [start_minute, end_minute) (cached by the arguments)."""
        records = self._day_records(day, restatement) if day >= FIRST_DAY else self._traffic.empty_records
        return line_items(visible_metrics(records, start_minute, end_minute), day, self.prices)

    def _restatement(self, day: date) -> Fraction:
        return self._restatements.get(day, Fraction(1))
