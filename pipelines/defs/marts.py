"""The marts as Dagster assets, and their checks.

One multi-asset builds every table of ``sql/intermediate/`` and ``sql/marts/`` in one step and one
transaction (``pipelines.marts.build_marts``); its asset specs, descriptions, grains and
dependencies all come from the SQL files, so adding a mart is adding a file. Every check of
``pipelines.marts.mart_checks`` becomes an ``@asset_check`` on its table's asset.
"""

import dagster as dg
import polars as pl

from pipelines.defs.assets import PROGRESS_LOGGER
from pipelines.defs.resources import MartOptionsResource, WarehouseResource
from pipelines.defs.table_metadata import column_schema
from pipelines.extract.entities import ENTITY_KEYS
from pipelines.ingest import CLAUDE_CODE, COST_REPORT, MESSAGES_USAGE
from pipelines.load.warehouse import connect
from pipelines.marts import MartCheck, build_marts, find_violations, mart_checks, mart_tables

# The raw asset that writes each raw table.
RAW_ASSET_KEYS: dict[str, dg.AssetKey] = {
    **{table: dg.AssetKey(["raw", report.name]) for report in (MESSAGES_USAGE, COST_REPORT, CLAUDE_CODE)
       for table in report.time_columns},
    **{table: dg.AssetKey(["raw", table.removeprefix("raw.")]) for table in ENTITY_KEYS},
}


def asset_key(table: str) -> dg.AssetKey:
    """The asset of a table: raw tables by the asset that loads them, the others by schema and name."""
    return RAW_ASSET_KEYS.get(table) or dg.AssetKey(table.split("."))


MART_TABLES = mart_tables()


@dg.multi_asset(
    name="marts",
    specs=[
        dg.AssetSpec(
            key=asset_key(table.table),
            group_name=table.schema,
            description=table.description,
            deps=sorted({asset_key(read) for read in table.reads}, key=lambda key: key.to_user_string()),
            kinds={"duckdb", "sql"},
            metadata={"table": table.table, "grain": ", ".join(table.grain)},
        )
        for table in MART_TABLES
    ],
    pool="warehouse_writer",
)
def marts(context: dg.AssetExecutionContext, warehouse: WarehouseResource, mart_options: MartOptionsResource):
    """Rebuild every intermediate and mart table from the raw tables in one transaction."""
    with connect(warehouse.path) as con:
        row_counts = build_marts(con, mart_options.budgets())
        columns = {table: column_schema(con, table) for table in row_counts}
    context.log.info(f"built {len(row_counts)} tables")
    PROGRESS_LOGGER.info(f"marts: built {len(row_counts)} tables")
    for table, rows in row_counts.items():
        yield dg.MaterializeResult(
            asset_key=asset_key(table), metadata={"dagster/row_count": rows, "dagster/column_schema": columns[table]}
        )


def mart_asset_check(check: MartCheck) -> dg.AssetChecksDefinition:
    """An asset check that passes when the check's SQL finds no violating rows."""
    severity = dg.AssetCheckSeverity.WARN if check.severity == "WARN" else dg.AssetCheckSeverity.ERROR

    @dg.asset_check(asset=asset_key(check.table), name=check.name, description=check.description)
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with connect(warehouse.path, read_only=True) as con:
            violations, first = find_violations(con, check)
        if violations:
            message = f"check {check.table} {check.name} ({check.severity}): {violations} row(s) listed in its metadata"
            context.log.warning(message)
            PROGRESS_LOGGER.warning(message)
        return dg.AssetCheckResult(
            passed=violations == 0,
            severity=severity,
            metadata={
                "violations": violations,
                "first_violations": dg.MetadataValue.md(_markdown(first) if violations else "none"),
            },
        )

    return _check


MART_CHECKS = [mart_asset_check(check) for check in mart_checks()]


def _markdown(frame: pl.DataFrame) -> str:
    with pl.Config(tbl_formatting="MARKDOWN", tbl_hide_column_data_types=True, tbl_hide_dataframe_shape=True,
                   tbl_cols=-1, tbl_rows=-1, tbl_width_chars=10_000, fmt_str_lengths=100):
        return str(frame)
