"""The serving asset: publishes the warehouse for analysts and BI tools at the end of every run.

It depends on every mart, so Dagster runs it only after the marts were rebuilt in the same run and
skips it when any upstream step failed: readers keep the last good publication instead.
"""

import dagster as dg

from pipelines.defs.marts import marts
from pipelines.defs.resources import PROGRESS_LOGGER, SettingsResource, writing_step
from pipelines.publish import PUBLISHED_SCHEMAS, publish


@dg.asset(
    key=["serving", "snapshot"],
    group_name="serving",
    description=(
        "The read-only copy of the warehouse (schemas " + ", ".join(PUBLISHED_SCHEMAS) + ") that analysts, "
        "BI tools, `usage-pipeline sql` and `usage-pipeline report` open: serving.duckdb, written in DuckDB's "
        "v1.0 storage format and swapped in atomically, plus a Parquet export of every table (by month where "
        "it has a date) behind an atomically switched symlink. Never opened read-write by readers, so they "
        "never block the pipeline."
    ),
    deps=list(marts.keys),
    kinds={"duckdb", "parquet"},
    pool="warehouse_writer",
)
def serving_snapshot(context: dg.AssetExecutionContext, settings: SettingsResource) -> dg.MaterializeResult:
    """Bring a new serving file and Parquet export up to date (only the changed days when the previous
    publication allows), then swap both in."""
    with writing_step(settings):  # no other sync writes the warehouse while it is copied
        publication = publish(settings.warehouse_path, settings.serving_path, settings.parquet_dir)
    how = f"full: {publication.reason}" if publication.is_full else f"incremental: {len(publication.days)} changed day(s)"
    if publication.repaired:
        how += f"; changed since the last publication, so copied again: {', '.join(publication.repaired)}"
    message = f"published {publication.tables} tables ({publication.rows} rows) to {publication.serving_path} ({how})"
    context.log.info(message)
    PROGRESS_LOGGER.info(message)
    return dg.MaterializeResult(
        metadata={
            "tables": publication.tables,
            "publication": "full" if publication.is_full else "incremental",
            "publication_reason": publication.reason,
            "days_copied": len(publication.days),
            "repaired": ", ".join(publication.repaired),
            "dagster/row_count": publication.rows,
            "serving_path": dg.MetadataValue.path(str(publication.serving_path)),
            "parquet_dir": dg.MetadataValue.path(settings.parquet_dir),
            "parquet_export": dg.MetadataValue.path(str(publication.parquet_path)),
        }
    )
