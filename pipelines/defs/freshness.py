"""Freshness checks on the raw report assets, run with every ingest (and on their own in the UI).

A check fails (severity WARN) when the newest loaded UTC day of a report is more than its
threshold before today (USAGE_PIPELINE_STALE_AFTER_DAYS, or its entry in
USAGE_PIPELINE_STALE_AFTER_DAYS_BY_REPORT), or when the API's `data_refreshed_at` was more than
USAGE_PIPELINE_REFRESH_LAG_HOURS old at the report's most recent load; the stale-data alert reads
these results. One check per report rather than a second one for the lag: the alert goes out once
per report and day, and which reports carry the watermark is known from the warehouse, not declared.
A legacy report and its Analytics API replacement are one report: only the one that loaded the
newest day can fail (`pipelines.freshness`). A sync prints a failed check as a warning line.
"""

from datetime import UTC, datetime

import dagster as dg

from pipelines.catalog import ensure_schema
from pipelines.defs.resources import SettingsResource, warn_failed_check, writing_step
from pipelines.freshness import report_freshness
from pipelines.reports import REPORTS
from pipelines.warehouse import connect

CHECK_NAME = "fresh"


def freshness_check_key(report_name: str) -> dg.AssetCheckKey:
    return dg.AssetCheckKey(dg.AssetKey(["raw", report_name]), CHECK_NAME)


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(CHECK_NAME, asset=dg.AssetKey(["raw", report.name]),
                          description="The newest loaded UTC day is at most USAGE_PIPELINE_STALE_AFTER_DAYS (or the "
                                      "report's USAGE_PIPELINE_STALE_AFTER_DAYS_BY_REPORT) ago, and where the pages "
                                      "carry data_refreshed_at, it lagged the most recent load by at most "
                                      "USAGE_PIPELINE_REFRESH_LAG_HOURS.")
        for report in REPORTS
    ],
    can_subset=True,
)
def raw_freshness_checks(context: dg.AssetCheckExecutionContext, settings: SettingsResource):
    today = datetime.now(UTC).date()
    with writing_step(settings), connect(settings.warehouse_path) as con:  # the lock: no step writes meanwhile
        ensure_schema(con)
        for report in REPORTS:
            if freshness_check_key(report.name) not in context.selected_asset_check_keys:
                continue
            freshness = report_freshness(con, report, today, settings)
            metadata = {
                "newest_loaded_day": str(freshness.newest_day or "never loaded"),
                "days_behind": freshness.days_behind if freshness.days_behind is not None else -1,
                "stale_after_days": freshness.threshold_days,
            }
            if lag := freshness.refresh_lag:
                metadata |= {"refresh_lag_hours": round(lag.hours, 1), "refresh_lag_after_hours": lag.threshold_hours,
                             "data_refreshed_at": lag.refreshed_at.isoformat()}
            if freshness.counted_with:
                metadata["counted_with"] = freshness.counted_with
            if freshness.stale:
                warn_failed_check(freshness_check_key(report.name), "WARN", freshness.describe())
            yield dg.AssetCheckResult(
                asset_key=dg.AssetKey(["raw", report.name]),
                check_name=CHECK_NAME,
                passed=not freshness.stale,
                severity=dg.AssetCheckSeverity.WARN,
                description=freshness.describe(),
                metadata=metadata,
            )
