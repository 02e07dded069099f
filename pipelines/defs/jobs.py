"""Jobs, partitions and daily schedules, defined once for `dagster dev` and the CLI alike.

Every job ends with the marts (and their checks), then publishes the serving copy: each depends on
the step before, so a run rebuilds and publishes once, after its raw partitions are loaded, and
never after a failed load or build. Late and corrected data is picked up by re-materializing
today, yesterday and `lookback` more days every morning (UTC); each run covers the whole range in
one run (single-run backfill). A report names its job (`ReportSpec.job`); adding a report to an
existing job touches nothing here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import dagster as dg

from pipelines.defs.alerting import alert_after_run, alert_on_failed_run
from pipelines.defs.assets import entity_snapshots, report_assets
from pipelines.defs.freshness import raw_freshness_checks
from pipelines.defs.marts import marts
from pipelines.defs.resources import resources_from_settings
from pipelines.defs.serving import serving_snapshot
from pipelines.reports import REPORTS
from pipelines.settings import Settings

PARTITION_RANGE_START = "dagster/asset_partition_range_start"
PARTITION_RANGE_END = "dagster/asset_partition_range_end"

# What ends every run that writes: rebuild the marts (with their checks), then publish.
END_OF_RUN = [marts, serving_snapshot]


@dataclass(frozen=True)
class ReportJob:
    """A daily job that loads a group of reports over a lookback window."""

    cron: str
    lookback_days: Callable[[Settings], int]
    description: str


REPORT_JOBS = {
    "ingest_usage_and_cost": ReportJob(
        "20 2 * * *", lambda settings: settings.lookback_days, "Messages usage and cost report every morning (UTC)."
    ),
    "ingest_claude_code": ReportJob(
        "40 2 * * *", lambda settings: settings.claude_code_lookback_days, "Claude Code analytics every morning (UTC)."
    ),
}


def lookback_range(today: date, lookback_days: int) -> tuple[date, date]:
    """Today, yesterday and `lookback_days` days before yesterday (inclusive UTC days)."""
    return today - timedelta(days=1 + lookback_days), today


def partition_range_tags(first_day: date, last_day: date) -> dict[str, str]:
    """The run tags of a single-run backfill over the inclusive UTC days."""
    return {PARTITION_RANGE_START: first_day.isoformat(), PARTITION_RANGE_END: last_day.isoformat()}


def build_definitions(settings: Settings) -> dg.Definitions:
    """Every asset, job and schedule, configured from one Settings object."""
    reports = report_assets(settings)
    entities_job = dg.define_asset_job("snapshot_entities", selection=[entity_snapshots, *END_OF_RUN])
    jobs, schedules = [entities_job], [
        dg.ScheduleDefinition(
            name="snapshot_entities_daily",
            job=entities_job,
            cron_schedule="10 2 * * *",
            execution_timezone="UTC",
            description="Snapshot users, invites, workspaces, members and API keys every morning (UTC).",
        )
    ]
    for name, report_job in REPORT_JOBS.items():
        selected = [reports[report.name] for report in REPORTS if report.job == name]
        job = dg.define_asset_job(name, selection=[*selected, *END_OF_RUN])
        jobs.append(job)
        schedules.append(_lookback_schedule(job, report_job, report_job.lookback_days(settings)))
    jobs.append(dg.define_asset_job("build_marts", selection=END_OF_RUN))
    return dg.Definitions(
        assets=[*reports.values(), entity_snapshots, *END_OF_RUN],
        asset_checks=[raw_freshness_checks],
        jobs=jobs,
        schedules=schedules,
        sensors=[alert_on_failed_run, alert_after_run],  # stopped until turned on, like the schedules
        resources=resources_from_settings(settings),
    )


def _lookback_schedule(job: dg.UnresolvedAssetJobDefinition, report_job: ReportJob, lookback_days: int) -> dg.ScheduleDefinition:
    """A schedule requesting one run over the lookback range of partitions."""

    @dg.schedule(
        name=f"{job.name}_daily",
        job=job,
        cron_schedule=report_job.cron,
        execution_timezone="UTC",
        description=f"{report_job.description} Lookback: today, yesterday and {lookback_days} days before.",
        tags={"lookback_days": str(lookback_days)},
    )
    def _schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        first_day, last_day = lookback_range(context.scheduled_execution_time.date(), lookback_days)
        return dg.RunRequest(run_key=f"{job.name}-{last_day}", tags=partition_range_tags(first_day, last_day))

    return _schedule
