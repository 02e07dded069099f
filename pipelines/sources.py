"""Which source loads each UTC day: the Usage and Cost Analytics API or the legacy reports.

The setting `source` (USAGE_PIPELINE_SOURCE): `auto`, the default, loads every day the Analytics
API serves (from 2026-01-01, within the last 365 days) from it, and the other days from the legacy
`usage_report/messages` and `cost_report`; an organization whose Analytics API answers 404 (not
available), 403 (the key lacks the scope) or 400 for a HIPAA-ready organization falls back to the
legacy reports for every day, with one line saying why. `analytics` and `legacy` force one source
(with `analytics`, those answers fail the load instead). Each Analytics API report records, per
organization, whether it fell back (`meta.analytics_status`), and its legacy report, which runs after
it, reads that.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb

from pipelines.api import AdminApiError, InvalidRequestError, NotFoundError, PermissionDeniedError
from pipelines.reports.analytics_api import serves
from pipelines.reports.spec import ReportSpec
from pipelines.warehouse import read_sql


def loads_anything(report: ReportSpec, source: str) -> bool:
    """Whether the `source` setting leaves this report any day at all: a forced source leaves out the
    reports of the other one, so a sync need not run them."""
    return report.source is None or source in ("auto", report.source)


def days_to_load(
    report: ReportSpec, source: str, first_day: date, last_day: date, today: date, fell_back: bool
) -> list[date]:
    """The days of [first_day, last_day] this report loads under the `source` setting; `fell_back`:
    the organization's Analytics API report fell back (it matters to a legacy report under `auto`)."""
    if not loads_anything(report, source):
        return []
    days = [first_day + timedelta(days=offset) for offset in range((last_day - first_day).days + 1)]
    if report.source == "analytics":
        return [day for day in days if serves(day, today)]
    if report.source == "legacy" and source == "auto" and not fell_back:
        return [day for day in days if not serves(day, today)]
    return days


def fallback_reason(error: AdminApiError) -> str | None:
    """Why an Analytics API error means "use the legacy reports for this organization", or None."""
    if isinstance(error, NotFoundError):
        return "the Analytics API is not available to this organization (404)"
    if isinstance(error, PermissionDeniedError):
        return "the key may not read the Analytics API (403: it needs the read:analytics scope or an Admin key)"
    if isinstance(error, InvalidRequestError) and "hipaa" in f"{error.message} {error.error_code}".lower():
        return "the organization is HIPAA-ready, which the Analytics API does not serve (400)"
    return None


def record_status(con: duckdb.DuckDBPyConnection, organization_id: str, report: str, fallback: str | None) -> None:
    """Remember whether this organization's Analytics API report fell back, for its legacy report."""
    con.execute(read_sql("meta/analytics_status.sql"))
    con.execute(
        "INSERT OR REPLACE INTO meta.analytics_status VALUES (?, ?, current_timestamp, ?)",
        [organization_id, report, fallback],
    )


def fell_back(con: duckdb.DuckDBPyConnection, organization_id: str, analytics_report: str | None) -> bool:
    """Whether the last load of `analytics_report` for this organization fell back to the legacy reports."""
    if analytics_report is None:
        return False
    con.execute(read_sql("meta/analytics_status.sql"))
    row = con.execute(
        "SELECT fallback FROM meta.analytics_status WHERE organization_id = ? AND report = ?",
        [organization_id, analytics_report],
    ).fetchone()
    return bool(row and row[0])


def day_runs(days: list[date]) -> list[tuple[date, date]]:
    """Consecutive days as inclusive (first, last) runs: [1, 2, 3, 7] -> [(1, 3), (7, 7)]."""
    runs: list[tuple[date, date]] = []
    for day in sorted(days):
        if runs and runs[-1][1] + timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs
