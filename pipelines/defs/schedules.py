"""Jobs and the daily schedules that re-pull a trailing lookback window.

Late and corrected data is picked up by re-materializing today, yesterday and `lookback` more
days every morning (UTC); each run covers the whole range in one run (single-run backfill).
"""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

PARTITION_RANGE_START = "dagster/asset_partition_range_start"
PARTITION_RANGE_END = "dagster/asset_partition_range_end"


def lookback_range(today, lookback_days: int) -> tuple[str, str]:
    """Today, yesterday and `lookback_days` days before yesterday, as partition keys."""
    return (today - timedelta(days=1 + lookback_days)).isoformat(), today.isoformat()


def lookback_schedule(
    job: dg.UnresolvedAssetJobDefinition, cron: str, lookback_days: int, description: str
) -> dg.ScheduleDefinition:
    """A schedule requesting one run over the lookback range of partitions."""

    @dg.schedule(
        name=f"{job.name}_daily",
        job=job,
        cron_schedule=cron,
        execution_timezone="UTC",
        description=f"{description} Lookback: today, yesterday and {lookback_days} days before.",
        tags={"lookback_days": str(lookback_days)},
    )
    def _schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        start, end = lookback_range(context.scheduled_execution_time.date(), lookback_days)
        return dg.RunRequest(run_key=f"{job.name}-{end}", tags={PARTITION_RANGE_START: start, PARTITION_RANGE_END: end})

    return _schedule
