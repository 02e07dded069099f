"""The Dagster code location: `dagster dev` loads `defs` from here (see workspace.yaml)."""

from __future__ import annotations

import dagster as dg

from pipelines.defs.assets import entity_snapshots, report_asset
from pipelines.defs.marts import marts
from pipelines.defs.resources import resources_from_settings
from pipelines.defs.schedules import lookback_schedule
from pipelines.defs.serving import serving_snapshot
from pipelines.ingest import CLAUDE_CODE, COST_REPORT, MESSAGES_USAGE
from pipelines.settings import Settings


def daily_partitions(settings: Settings) -> dg.DailyPartitionsDefinition:
    """UTC days from the configured start date up to and including today."""
    return dg.DailyPartitionsDefinition(start_date=settings.start_date.isoformat(), timezone="UTC", end_offset=1)


def report_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    """The three daily-partitioned report assets: messages usage, cost report, Claude Code."""
    partitions = daily_partitions(settings)
    return [report_asset(report, partitions) for report in (MESSAGES_USAGE, COST_REPORT, CLAUDE_CODE)]


def build_definitions(settings: Settings) -> dg.Definitions:
    messages_usage, cost_report, claude_code_usage = report_assets(settings)
    usage_and_cost = [messages_usage, cost_report]
    claude_code = [claude_code_usage]
    # Every job ends with the marts (and their checks), then publishes the serving copy: each
    # depends on the step before, so a run rebuilds and publishes once, after its raw partitions are
    # loaded, and never after a failed load or build.
    ends_with = [marts, serving_snapshot]
    usage_and_cost_job = dg.define_asset_job("ingest_usage_and_cost", selection=[*usage_and_cost, *ends_with])
    claude_code_job = dg.define_asset_job("ingest_claude_code", selection=[*claude_code, *ends_with])
    entities_job = dg.define_asset_job("snapshot_entities", selection=[entity_snapshots, *ends_with])
    marts_job = dg.define_asset_job("build_marts", selection=ends_with)
    return dg.Definitions(
        assets=[*usage_and_cost, *claude_code, entity_snapshots, marts, serving_snapshot],
        jobs=[usage_and_cost_job, claude_code_job, entities_job, marts_job],
        schedules=[
            dg.ScheduleDefinition(
                name="snapshot_entities_daily",
                job=entities_job,
                cron_schedule="10 2 * * *",
                execution_timezone="UTC",
                description="Snapshot users, invites, workspaces, members and API keys every morning (UTC).",
            ),
            lookback_schedule(
                usage_and_cost_job, "20 2 * * *", settings.lookback_days,
                "Messages usage and cost report every morning (UTC).",
            ),
            lookback_schedule(
                claude_code_job, "40 2 * * *", settings.claude_code_lookback_days,
                "Claude Code analytics every morning (UTC).",
            ),
        ],
        resources=resources_from_settings(settings),
    )


defs = build_definitions(Settings.load())
