"""Run the ingest assets in-process for a range of days, exactly as a Dagster backfill would.

`usage-pipeline sync` and `demo` use this, so the CLI and the Dagster UI share one code path:
the same assets, resources and single-run backfill over a partition range.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime

import dagster as dg

from pipelines.defs.assets import entity_snapshots
from pipelines.defs.marts import marts as mart_assets
from pipelines.defs.resources import resources_from_settings
from pipelines.defs.schedules import PARTITION_RANGE_END, PARTITION_RANGE_START, lookback_range
from pipelines.defs.serving import serving_snapshot
from pipelines.definitions import report_assets
from pipelines.settings import ConfigError, Settings

REPORT_NAMES = ("messages_usage", "cost_report", "claude_code_usage")


@dataclass(frozen=True)
class SyncRange:
    first_day: date
    last_day: date

    @classmethod
    def resolve(cls, settings: Settings, start: str | None, end: str | None, today: date | None = None) -> SyncRange:
        """Inclusive UTC days; without dates, the daily schedule's lookback window."""
        today = today or datetime.now(UTC).date()
        default_start, default_end = lookback_range(today, settings.lookback_days)
        first_day = _parse_day(start or default_start, "--start")
        last_day = _parse_day(end or default_end, "--end")
        if first_day > last_day:
            raise ConfigError(f"--start {first_day} is after --end {last_day}; both dates are inclusive UTC days")
        if first_day < settings.start_date:
            raise ConfigError(
                f"--start {first_day} is before the first partition {settings.start_date}; "
                f"set USAGE_PIPELINE_START_DATE earlier to load older history"
            )
        if last_day > today:
            raise ConfigError(f"--end {last_day} is in the future (today is {today} UTC)")
        return cls(first_day, last_day)


def check_reports(reports: tuple[str, ...]) -> tuple[str, ...]:
    """The report names, or a ConfigError naming the unknown ones (before any request or lock)."""
    if unknown := sorted(set(reports) - set(REPORT_NAMES)):
        raise ConfigError(f"unknown report(s) {', '.join(unknown)}; choose from {', '.join(REPORT_NAMES)}")
    return reports


def run_sync(
    settings: Settings,
    sync_range: SyncRange,
    *,
    reports: tuple[str, ...] = REPORT_NAMES,
    entities: bool = True,
    marts: bool = True,
) -> list[dg.ExecuteInProcessResult]:
    """Snapshot the entities, materialize the report partitions of the range in one run, then
    rebuild the marts, run their checks (failed checks are logged as warnings, not raised) and
    publish the serving copy; `marts=False` skips those three steps.

    Admin keys are read from ANTHROPIC_ADMIN_KEY when the run starts (never from Dagster config).
    Raises the underlying error (AdminApiError, WindowLoadError, ...) when a step fails.
    """
    check_reports(reports)
    resources = resources_from_settings(settings)
    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    # Dagster's console logger stays quiet: progress comes from the `pipelines.progress` logger
    # and errors are raised to the caller; the run's event log keeps everything.
    run_config = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    results = []
    if entities:
        results.append(_materialize([entity_snapshots], resources, instance, run_config, tags={}))
    selected = [asset for asset in report_assets(settings) if asset.key.path[-1] in reports]
    # The marts and the publication end the reports' run, as they end every scheduled run (or run alone).
    mart_steps = [mart_assets, serving_snapshot] if marts else []
    if selected:
        tags = {
            PARTITION_RANGE_START: sync_range.first_day.isoformat(),
            PARTITION_RANGE_END: sync_range.last_day.isoformat(),
        }
        results.append(_materialize([*selected, *mart_steps], resources, instance, run_config, tags))
    elif mart_steps:
        results.append(_materialize(mart_steps, resources, instance, run_config, tags={}))
    return results


def _materialize(assets, resources, instance, run_config, tags) -> dg.ExecuteInProcessResult:
    """One in-process run. As in a Dagster run of several steps, a failing asset does not stop the
    others (one report's malformed day must not cost the other reports their night); afterwards the
    step's own exception is raised, or an ExceptionGroup when several steps failed."""
    failures: list[BaseException] = []

    @dg.failure_hook
    def keep_exception(context: dg.HookContext) -> None:
        if context.op_exception is not None:
            failures.append(context.op_exception)

    result = dg.materialize(
        [asset.with_hooks({keep_exception}) for asset in assets],
        resources=resources, instance=instance, run_config=run_config, tags=tags, raise_on_error=False,
    )
    if len(failures) == 1:
        raise failures[0]
    if failures:
        raise BaseExceptionGroup(f"{len(failures)} steps of the sync failed", failures)
    if not result.success:
        errors = [event.step_failure_data.error for event in result.get_step_failure_events()]
        details = "; ".join(error.message.strip() for error in errors if error) or "see the run's event log"
        raise RuntimeError(f"the sync run failed: {details}")
    return result


def _parse_day(text: str, flag: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{flag} {text!r} is not a date; use YYYY-MM-DD (a UTC day)") from None

