"""The marts as Dagster assets, and their checks.

One multi-asset builds every table of ``sql/intermediate/`` and ``sql/marts/`` in one step and one
transaction (``pipelines.marts.build_marts``, incremental where it can be); its asset specs,
descriptions, grains and dependencies all come from the SQL files, so adding a mart is adding a
file. Every check of ``pipelines.marts.mart_checks`` is a check spec of that multi-asset, run in
the same step right after the build (selecting only checks re-runs them without a build).
"""

import dagster as dg
import polars as pl

from pipelines.cost_centers import read_cost_centers
from pipelines.defs.resources import PROGRESS_LOGGER, SettingsResource, warn_failed_check, writing_step
from pipelines.defs.table_metadata import column_schema
from pipelines.extract.entities import ENTITY_KEYS
from pipelines.marts import CheckResult, build_marts, run_checks
from pipelines.models import MartCheck, mart_checks, mart_tables
from pipelines.reports import REPORTS
from pipelines.warehouse import connect

LOAD_LOG = "raw.load_log"
# The raw asset that writes each raw table.
RAW_ASSET_KEYS: dict[str, dg.AssetKey] = {
    **{table: dg.AssetKey(["raw", report.name]) for report in REPORTS for table in report.tables},
    **{table: dg.AssetKey(["raw", table.removeprefix("raw.")]) for table in ENTITY_KEYS},
}


def asset_key(table: str) -> dg.AssetKey:
    """The asset of a table: raw tables by the asset that loads them, the others by schema and name."""
    return RAW_ASSET_KEYS.get(table) or dg.AssetKey(table.split("."))


def upstream_keys(table: str) -> set[dg.AssetKey]:
    """The assets a read of `table` depends on: the load log is written by every report asset."""
    if table == LOAD_LOG:
        return {dg.AssetKey(["raw", report.name]) for report in REPORTS}
    return {asset_key(table)}


MART_TABLES = mart_tables()
MART_CHECKS = mart_checks()


def check_key(check: MartCheck) -> dg.AssetCheckKey:
    return dg.AssetCheckKey(asset_key(check.table), check.name)


@dg.multi_asset(
    name="marts",
    specs=[
        dg.AssetSpec(
            key=asset_key(table.table),
            group_name=table.schema,
            description=table.description,
            deps=sorted({key for read in table.reads for key in upstream_keys(read)}, key=lambda key: key.to_user_string()),
            kinds={"duckdb", "sql"},
            metadata={"table": table.table, "grain": ", ".join(table.grain),
                      "incremental_by": table.incremental_by or "rebuilt whole"},
        )
        for table in MART_TABLES
    ],
    check_specs=[dg.AssetCheckSpec(check.name, asset=asset_key(check.table), description=check.description)
                 for check in MART_CHECKS],
    can_subset=True,  # only the checks: re-checks the marts as they are, without a build
    pool="warehouse_writer",
)
def marts(context: dg.AssetExecutionContext, settings: SettingsResource):
    """Bring every intermediate and mart table up to date with the raw tables in one transaction
    (only the days loaded since the last build, unless an input besides the report rows changed),
    then run the selected checks in the same step, on the days the build rewrote where that is exact."""
    checks = [check for check in MART_CHECKS if check_key(check) in context.selected_asset_check_keys]
    build = None
    # a bad mapping stops before the build
    cost_centers = read_cost_centers(settings.cost_centers_file, settings.cost_centers)
    with writing_step(settings), connect(settings.warehouse_path) as con:
        if context.selected_asset_keys:
            build = build_marts(con, dict(settings.budgets), cost_centers=cost_centers)
            columns = {table: column_schema(con, table) for table in build.row_counts}
        results = run_checks(con, checks, build)
    if build is not None:
        how = (f"full ({build.reason})" if build.is_full
               else f"incremental: {len(build.days)} changed day(s){_span(build.days)}")
        context.log.info(f"built {len(build.row_counts)} tables, {how}")
        PROGRESS_LOGGER.info(f"marts: built {len(build.row_counts)} tables, {how}")
        for table, rows in build.row_counts.items():
            if asset_key(table) in context.selected_asset_keys:
                yield dg.MaterializeResult(
                    asset_key=asset_key(table),
                    metadata={"dagster/row_count": rows, "dagster/column_schema": columns[table],
                              "build": "full" if build.is_full else "incremental", "build_reason": build.reason,
                              "days_rebuilt": len(build.days)},
                )
    for result in results:
        yield _check_result(result)


def _check_result(result: CheckResult) -> dg.AssetCheckResult:
    """The check's outcome; a violation is logged as a warning whatever its severity (ERROR checks
    do not stop the run: the publication of a day with a warning beats no publication)."""
    check = result.check
    if result.violations:
        warn_failed_check(check_key(check), check.severity, f"{result.violations} row(s) flagged",
                          result.first_violations.to_dicts(), result.violations)
    days = "every day" if result.days_checked is None else f"the {len(result.days_checked)} day(s) rebuilt"
    return dg.AssetCheckResult(
        asset_key=asset_key(check.table),
        check_name=check.name,
        passed=result.violations == 0,
        severity=dg.AssetCheckSeverity.WARN if check.severity == "WARN" else dg.AssetCheckSeverity.ERROR,
        metadata={
            "violations": result.violations,
            "days_checked": days,
            "first_violations": dg.MetadataValue.md(_markdown(result.first_violations) if result.violations else "none"),
        },
    )


def _span(days: list) -> str:
    return f" ({days[0]} .. {days[-1]})" if days else ""


def _markdown(frame: pl.DataFrame) -> str:
    with pl.Config(tbl_formatting="MARKDOWN", tbl_hide_column_data_types=True, tbl_hide_dataframe_shape=True,
                   tbl_cols=-1, tbl_rows=-1, tbl_width_chars=10_000, fmt_str_lengths=100):
        return str(frame)
