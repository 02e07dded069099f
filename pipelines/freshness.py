"""How far behind each report's data is: the newest UTC day loaded against the report's threshold.

A report and the one it is replaced by (legacy and Analytics API) are one family: with the
`auto` source recent days come from the Analytics API, so the legacy table alone would look stale.
A report never loaded has nothing to be stale about and is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from pipelines.reports import REPORTS, ReportSpec
from pipelines.settings import Settings


@dataclass(frozen=True)
class Freshness:
    report: str
    newest_day: date | None  # None: never loaded
    days_behind: int | None
    threshold_days: int

    @property
    def stale(self) -> bool:
        return self.days_behind is not None and self.days_behind > self.threshold_days

    def describe(self) -> str:
        if self.newest_day is None:
            return f"{self.report}: never loaded"
        return (f"{self.report}: newest loaded day {self.newest_day}, {self.days_behind} day(s) before today "
                f"(stale after {self.threshold_days})")


def stale_after_days(settings: Settings, report: ReportSpec) -> int:
    """The report's own threshold if it has one, else the default of every report."""
    return dict(settings.stale_after_days_by_report).get(report.name, settings.stale_after_days)


def family_tables(report: ReportSpec) -> list[str]:
    """The tables whose loads count for `report`: its own, and those of the reports replacing or replaced by it."""
    related = {report.name, report.replaced_by} | {other.name for other in REPORTS if other.replaced_by == report.name}
    return [other.table for other in REPORTS if other.name in related]


def report_freshness(con: duckdb.DuckDBPyConnection, report: ReportSpec, today: date, settings: Settings) -> Freshness:
    tables = family_tables(report)
    newest = con.execute(
        f"SELECT max(partition_date) FROM raw.load_log WHERE table_name IN ({', '.join('?' for _ in tables)})", tables
    ).fetchone()[0]
    return Freshness(report.name, newest, (today - newest).days if newest else None, stale_after_days(settings, report))
