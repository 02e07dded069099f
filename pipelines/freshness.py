"""How far behind each report's data is: the newest UTC day loaded against the report's threshold,
and, for reports whose pages carry the API's `data_refreshed_at`, how old that watermark was when loaded.

A report and the one it is replaced by (legacy and Analytics API) are one logical report: with the
`auto` source recent days come from the Analytics API, so the legacy table alone would look stale.
The one of the two that loaded the newest day (on a tie, the Analytics API report) carries the
check, with its own threshold; the other passes, counted with it, so stale data is one failed check
and one alert, on the asset that loads the data. A report never loaded has nothing to be stale about.

The refresh lag is measured at load time (the load's `loaded_at` minus the newest `data_refreshed_at`
in its rows), not against now: an old window re-run today is not an API that stopped refreshing, and a
pipeline that has not run is the newest-day check's business. It is the report's own table only:
the legacy report it replaces has no watermark, and one alert for one lagging export is enough.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import duckdb

from pipelines.reports import REPORTS, ReportSpec
from pipelines.settings import Settings

REFRESH_COLUMN = "data_refreshed_at"


@dataclass(frozen=True)
class RefreshLag:
    """The report's most recent load (of the organization lagging most) and the API's watermark in it."""

    loaded_at: datetime
    refreshed_at: datetime
    threshold_hours: int

    @property
    def hours(self) -> float:
        return (self.loaded_at - self.refreshed_at) / timedelta(hours=1)

    @property
    def lagging(self) -> bool:
        return self.hours > self.threshold_hours


@dataclass(frozen=True)
class Freshness:
    report: str
    newest_day: date | None  # None: never loaded
    days_behind: int | None
    threshold_days: int
    refresh_lag: RefreshLag | None = None  # None: no data_refreshed_at in the report's table (or no row yet)
    counted_with: str | None = None  # the report of its family that loaded the newest day, which carries the check

    @property
    def behind(self) -> bool:
        return self.days_behind is not None and self.days_behind > self.threshold_days

    @property
    def stale(self) -> bool:
        if self.counted_with:
            return False
        return self.behind or (self.refresh_lag is not None and self.refresh_lag.lagging)

    def describe(self) -> str:
        if self.newest_day is None:
            return f"{self.report}: never loaded"
        if self.counted_with:
            return (f"{self.report}: counted with {self.counted_with}, which loaded the newest day "
                    f"{self.newest_day} and carries the check")
        text = (f"{self.report}: newest loaded day {self.newest_day}, {self.days_behind} day(s) before today "
                f"(stale after {self.threshold_days})")
        if lag := self.refresh_lag:
            text += (f"; the API's export was {lag.hours:.1f} h behind when last loaded ({REFRESH_COLUMN} "
                     f"{lag.refreshed_at:%Y-%m-%d %H:%M}, loaded {lag.loaded_at:%Y-%m-%d %H:%M} UTC; "
                     f"lagging after {lag.threshold_hours} h)")
        return text


def stale_after_days(settings: Settings, report: ReportSpec) -> int:
    """The report's own threshold if it has one, else the default of every report."""
    return dict(settings.stale_after_days_by_report).get(report.name, settings.stale_after_days)


def family(report: ReportSpec) -> list[ReportSpec]:
    """`report` and the reports replacing or replaced by it, the replacing (Analytics API) one first."""
    related = {report.name, report.replaced_by} | {other.name for other in REPORTS if other.replaced_by == report.name}
    return sorted((other for other in REPORTS if other.name in related), key=lambda other: other.replaced_by is not None)


def newest_loaded_day(con: duckdb.DuckDBPyConnection, table: str) -> date | None:
    return con.execute("SELECT max(partition_date) FROM raw.load_log WHERE table_name = ?", [table]).fetchone()[0]


def report_freshness(con: duckdb.DuckDBPyConnection, report: ReportSpec, today: date, settings: Settings) -> Freshness:
    newest = {member.name: newest_loaded_day(con, member.table) for member in family(report)}
    carrier = max(newest, key=lambda name: newest[name] or date.min)  # on a tie the first: the replacing report
    day, threshold = newest[carrier], stale_after_days(settings, report)
    if day is None:
        return Freshness(report.name, None, None, threshold)
    if carrier != report.name:
        return Freshness(report.name, day, (today - day).days, threshold, counted_with=carrier)
    return Freshness(report.name, day, (today - day).days, threshold,
                     refresh_lag(con, report.table, settings.refresh_lag_hours))


def refresh_lag(con: duckdb.DuckDBPyConnection, table: str, threshold_hours: int) -> RefreshLag | None:
    """Per organization, its most recent load's `loaded_at` minus the newest watermark in that load; the largest."""
    schema, name = table.split(".")
    if not con.execute("SELECT count(*) FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? "
                       "AND column_name = ?", [schema, name, REFRESH_COLUMN]).fetchone()[0]:
        return None
    row = con.execute(f"""
        WITH latest AS (
            SELECT organization_id, max(loaded_at) AS loaded_at FROM {table}
            WHERE {REFRESH_COLUMN} IS NOT NULL GROUP BY ALL
        )
        SELECT loaded_at, max({REFRESH_COLUMN}) AS refreshed_at
        FROM {table} JOIN latest USING (organization_id, loaded_at)
        GROUP BY organization_id, loaded_at
        ORDER BY loaded_at - refreshed_at DESC LIMIT 1
    """).fetchone()
    return RefreshLag(row[0], row[1], threshold_hours) if row else None
