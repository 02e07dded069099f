"""Ingest assets: three daily-partitioned report tables and the entity snapshots.

Report assets use a single-run backfill policy: a backfill of N days is one run whose
partition window spans all N days, so the API is paged with its largest pages instead of
one round trip per day.
"""

import logging
import warnings
from datetime import timedelta

import dagster as dg

from pipelines.defs.resources import AdminApiResource, ReportOptionsResource, WarehouseResource
from pipelines.defs.table_metadata import column_schema
from pipelines.extract.entities import ENTITY_KEYS
from pipelines.ingest import CLAUDE_CODE, COST_REPORT, MESSAGES_USAGE, Report, ingest_entities, ingest_report
from pipelines.load.warehouse import connect

# backfill_policy is a beta parameter; we rely on it deliberately (single-run backfills).
warnings.filterwarnings("ignore", category=dg.BetaWarning)

# Progress lines go to the run's event log and to this logger, which the CLI prints.
PROGRESS_LOGGER = logging.getLogger("pipelines.progress")

REPORT_DESCRIPTIONS = {
    MESSAGES_USAGE.name: (
        "Token usage of the Messages API per time bucket (default 1h), grouped by every dimension the API "
        "offers: workspace, API key, account, service account, model, service tier, context window and "
        "inference geo. workspace_id NULL is the default workspace. Source: GET /v1/organizations/usage_report/messages."
    ),
    COST_REPORT.name: (
        "Billed cost in USD per UTC day, grouped by workspace and line-item description (which fills model, "
        "token type, service tier, context window and inference geo for token costs). amount_cents is the API's "
        "exact decimal string. Priority-tier usage is not billed here. Source: GET /v1/organizations/cost_report."
    ),
    CLAUDE_CODE.name: (
        "Claude Code analytics per UTC day, actor (user email or API key name), terminal and remote flag, with "
        "child tables raw.claude_code_model_usage (tokens and estimated cost per model) and "
        "raw.claude_code_tool_actions (accepted/rejected per tool). Estimated cost is informational: it is "
        "already inside the billed API cost. Source: GET /v1/organizations/usage_report/claude_code."
    ),
}


def report_asset(report: Report, partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """A daily-partitioned asset that replaces its partitions' rows from the Admin API."""

    @dg.asset(
        key=["raw", report.name],
        group_name="raw",
        description=REPORT_DESCRIPTIONS[report.name],
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        kinds={"duckdb", "polars"},
        pool="warehouse_writer",
        metadata={"table": report.table},
    )
    def _report_asset(
        context: dg.AssetExecutionContext,
        admin_api: AdminApiResource,
        warehouse: WarehouseResource,
        report_options: ReportOptionsResource,
    ) -> dg.MaterializeResult:
        window = context.partition_time_window
        first_day, last_day = window.start.date(), (window.end - timedelta(days=1)).date()
        with admin_api.clients() as clients:
            result = ingest_report(
                report,
                clients,
                warehouse.path,
                first_day,
                last_day,
                run_id=context.run.run_id,
                progress=_progress(context),
                bucket_width=report_options.bucket_width,
                group_by_speed=report_options.group_by_speed,
            )
        for warning in result.warnings:
            context.log.warning(f"schema drift in {report.table}: {warning}")
        with connect(warehouse.path, read_only=True) as con:
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
def entity_snapshots(context: dg.AssetExecutionContext, admin_api: AdminApiResource, warehouse: WarehouseResource):
    """Snapshot every entity list of every organization into its history table."""
    with admin_api.clients() as clients:
        changes = ingest_entities(clients, warehouse.path, progress=_progress(context))
    with connect(warehouse.path, read_only=True) as con:
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


def _progress(context: dg.AssetExecutionContext):
    def report(message: str) -> None:
        context.log.info(message)
        PROGRESS_LOGGER.info(message)

    return report
