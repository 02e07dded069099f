"""Run the ingest assets in-process for a range of days, exactly as a Dagster backfill would.

`usage-pipeline sync` and `demo` use this, so the CLI and the Dagster UI share one code path:
the same assets, resources and single-run backfill over a partition range.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg

from pipelines.defs.assets import entity_snapshots, report_assets
from pipelines.defs.freshness import raw_freshness_checks
from pipelines.defs.jobs import END_OF_RUN, lookback_range, partition_range_tags
from pipelines.defs.resources import resources_from_settings
from pipelines.memory import cap_malloc_arenas
from pipelines.reports import REPORT_NAMES, reports_named
from pipelines.settings import ConfigError, Settings
from pipelines.sources import loads_anything
from pipelines.warehouse import writer_lock


@dataclass(frozen=True)
class SyncRange:
    first_day: date
    last_day: date

    @classmethod
    def resolve(cls, settings: Settings, start: str | None, end: str | None, today: date | None = None) -> SyncRange:
        """Inclusive UTC days; without dates, the daily schedule's lookback window."""
        today = today or datetime.now(UTC).date()
        default_start, default_end = lookback_range(today, settings.lookback_days)
        first_day = _parse_day(start, "--start") if start else default_start
        last_day = _parse_day(end, "--end") if end else default_end
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


def run_sync(
    settings: Settings,
    sync_range: SyncRange,
    *,
    reports: tuple[str, ...] = REPORT_NAMES,
    entities: bool = True,
    marts: bool = True,
    wait_seconds: float | None = None,
    on_wait: Callable[[str], None] | None = None,
    dagster_home: str | Path | None = None,
) -> list[dg.ExecuteInProcessResult]:
    """Snapshot the entities, materialize the report partitions of the range in one run, then
    rebuild the marts, run their checks (failed checks are logged as warnings, not raised) and
    publish the serving copy; `marts=False` skips those three steps.

    The whole sync holds the warehouse's writer lock, so a second sync waits for it (at most
    `wait_seconds`, default WRITER_LOCK_TIMEOUT_SECONDS, calling `on_wait(holder)` once) instead of
    interleaving its steps.
    Runs are recorded in the Dagster instance at `dagster_home` (default: DAGSTER_HOME, else a
    throwaway instance; the CLI passes the project's, see `pipelines.dagster_home`).
    Admin keys are read from ANTHROPIC_ADMIN_KEY when the run starts (never from Dagster config).
    Raises the underlying error (AdminApiError, WindowLoadError, ...) when a step fails.
    """
    # a forced source leaves the other source's reports nothing to load: their steps are not run
    selected_reports = {report.name for report in reports_named(reports) if loads_anything(report, settings.source)}
    cap_malloc_arenas()
    with writer_lock(settings.warehouse_path, timeout_seconds=wait_seconds, on_wait=on_wait):
        home = dagster_home or os.environ.get("DAGSTER_HOME")
        with dg.DagsterInstance.from_config(str(home)) if home else dg.DagsterInstance.ephemeral() as instance:
            return _run(settings, sync_range, selected_reports, entities, marts, instance)


def _run(settings: Settings, sync_range: SyncRange, reports: set[str], entities: bool, marts: bool,
         instance: dg.DagsterInstance):
    resources = resources_from_settings(settings)
    # Dagster's console logger stays quiet: progress comes from the `pipelines.progress` logger
    # and errors are raised to the caller; the run's event log keeps everything.
    run_config = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    results = []
    if entities:
        results.append(_materialize([entity_snapshots], resources, instance, run_config, tags={}))
    selected = [asset for name, asset in report_assets(settings).items() if name in reports]
    # The marts and the publication end the reports' run, as they end every scheduled run (or run alone).
    mart_steps = END_OF_RUN if marts else []
    if selected:
        tags = partition_range_tags(sync_range.first_day, sync_range.last_day)
        checks = [raw_freshness_checks]  # of the selected reports only: Dagster subsets the multi-check
        results.append(_materialize([*selected, *checks, *mart_steps], resources, instance, run_config, tags))
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

