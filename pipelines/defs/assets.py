"""Ingest assets: one daily-partitioned asset per registered report, and the entity snapshots.

Report assets use a single-run backfill policy: a backfill of N days is one run whose
partition window spans all N days, so the API is paged with its largest pages instead of
one round trip per day.
"""


import warnings
from datetime import timedelta

import dagster as dg

from pipelines.defs.resources import SettingsResource, admin_api_clients, progress_of, writing_step
from pipelines.defs.table_metadata import column_schema
from pipelines.extract.entities import ENTITY_KEYS
from pipelines.ingest import ingest_entities, ingest_report
from pipelines.reports import REPORTS, ReportSpec
from pipelines.settings import Settings
from pipelines.warehouse import connect

# backfill_policy is a beta parameter; we rely on it deliberately (single-run backfills).
warnings.filterwarnings("ignore", category=dg.BetaWarning)


def daily_partitions(settings: Settings) -> dg.DailyPartitionsDefinition:
    """UTC days from the configured start date up to and including today."""
    return dg.DailyPartitionsDefinition(start_date=settings.start_date.isoformat(), timezone="UTC", end_offset=1)


def report_assets(settings: Settings) -> dict[str, dg.AssetsDefinition]:
    """The asset of every registered report by report name, in registry order."""
    partitions = daily_partitions(settings)
    return {report.name: report_asset(report, partitions) for report in REPORTS}


def report_asset(report: ReportSpec, partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """A daily-partitioned asset that replaces its partitions' rows from the Admin API."""

    @dg.asset(
        key=["raw", report.name],
        group_name="raw",
        description=report.description,
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        kinds={"duckdb", "polars"},
        pool="warehouse_writer",
        metadata={"table": report.table, "tables": ", ".join(report.tables), "source": report.source or "any"},
        # a legacy report runs after the Analytics API report that replaces it, to know whether it fell back
        deps=[dg.AssetKey(["raw", report.replaced_by])] if report.replaced_by else None,
    )
    def _report_asset(context: dg.AssetExecutionContext, settings: SettingsResource) -> dg.MaterializeResult:
        window = context.partition_time_window
        first_day, last_day = window.start.date(), (window.end - timedelta(days=1)).date()
        with admin_api_clients(settings) as clients, writing_step(settings):
            result = ingest_report(
                report, clients, settings.warehouse_path, first_day, last_day, report.options(settings),
                source=settings.source, run_id=context.run.run_id, progress=progress_of(context),
            )
        for warning in result.warnings:
            context.log.warning(f"schema drift in {report.table}: {warning}")
        with connect(settings.warehouse_path, read_only=True) as con:
            columns = column_schema(con, report.table)
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": result.rows,
                "dagster/column_schema": columns,
                "window": f"{first_day} .. {last_day}",
                "organizations": ", ".join(result.organizations),
                "pages": result.pages,
                "requests": result.requests,
                "retries": result.retries,
                "request_windows": result.windows,
                "restated_days": ", ".join(result.restated_days) or "none",
                "schema_warnings": dg.MetadataValue.md(
                    "\n".join(f"- {w}" for w in result.warnings) if result.warnings else "none"
                ),
            }
        )

    return _report_asset


ENTITY_DESCRIPTIONS = {
    "raw.organization": "The organization each admin key belongs to (GET /v1/organizations/me).",
    "raw.users": "Organization members, with history (valid_from/valid_to), so deleted users still resolve.",
    "raw.invites": "Invitations (pending, accepted, expired), with history.",
    "raw.workspaces": "Workspaces including archived ones, with history. The default workspace is not listed by the API.",
    "raw.workspace_members": "Workspace memberships and roles, with history.",
    "raw.api_keys": "API keys (both API shapes flattened: created_by / principal, workspace_id / scope), with history, so renamed keys resolve.",
}


@dg.multi_asset(
    specs=[
        dg.AssetSpec(key=["raw", table.removeprefix("raw.")], group_name="raw", description=ENTITY_DESCRIPTIONS[table],
                     kinds={"duckdb", "polars"}, metadata={"table": table})
        for table in ENTITY_KEYS
    ],
    pool="warehouse_writer",
)
def entity_snapshots(context: dg.AssetExecutionContext, settings: SettingsResource):
    """Snapshot every entity list of every organization into its history table."""
    with admin_api_clients(settings) as clients, writing_step(settings):
        changes = ingest_entities(clients, settings.warehouse_path, progress=progress_of(context))
    with connect(settings.warehouse_path, read_only=True) as con:
        columns = {table: column_schema(con, table) for table in ENTITY_KEYS}
    for table in ENTITY_KEYS:
        of_table = [c for c in changes if c.table == table]
        yield dg.MaterializeResult(
            asset_key=["raw", table.removeprefix("raw.")],
            metadata={
                "dagster/row_count": sum(c.current for c in of_table),
                "dagster/column_schema": columns[table],
                "versions_opened": sum(c.opened for c in of_table),
                "versions_closed": sum(c.closed for c in of_table),
            },
        )
