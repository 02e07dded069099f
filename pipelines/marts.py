"""Build the analytics marts from the raw tables and check what they promise, independent of Dagster.

What each SQL file builds or checks is read from its header (``pipelines.models``).

Strategy: every build runs in one transaction, so readers never see marts built from different raw
states and a failed build keeps the previous marts. The first build, and any build whose inputs
other than the report rows changed (the SQL, the price table, the budgets, the cost-center
mapping, the entity tables: see ``meta.mart_builds``), recomputes every table whole with set-based SQL. Otherwise a build is
incremental: a table whose header says ``-- Incremental: <day column>`` promises that its rows of
a UTC day come only from the same day of the day-grained tables it reads, so only the days whose
raw partitions were loaded since the last build (``pipelines.changes``) are deleted and
recomputed, reading only those days; the other, small tables are recomputed whole.
The days being rebuilt are in the temp table ``mart_build_dates``. ``marts.focus_costs``, the FOCUS
export ledger, keeps state and scopes itself to those days (see its SQL file).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl

from pipelines.catalog import dated_tables, ensure_schema, raw_day_columns
from pipelines.changes import changed_days, latest_loads_sql, loaded_days
from pipelines.cost_centers import read_cost_centers
from pipelines.list_prices import (
    CODE_EXECUTION_USD_PER_CONTAINER_HOUR,
    DEFAULT_PRICES_CSV,
    SESSION_USD_PER_SESSION_HOUR,
    read_price_file,
)
from pipelines.models import (
    COMMENT,
    MART_BUILD_DATES,
    MART_SCHEMAS,
    MartCheck,
    MartTable,
    mart_tables,
    tables_read,
)
from pipelines.warehouse import day_filter, read_sql, replace_days, transaction

@dataclass(frozen=True)
class MartBuild:
    """What a build did: row counts by table, whether it was full (and why) and the days it rewrote."""

    build_id: int
    row_counts: dict[str, int]
    is_full: bool
    reason: str
    days: list[date]


@dataclass(frozen=True)
class CheckResult:
    check: MartCheck
    violations: int
    first_violations: pl.DataFrame
    days_checked: list[date] | None  # None: every day


def run_checks(con: duckdb.DuckDBPyConnection, checks: list[MartCheck], build: MartBuild | None = None,
               limit: int = 10) -> list[CheckResult]:
    """Run the checks, returning each one's violations (and the first ``limit``), and record them.

    After an incremental ``build``, a check with a day column that found nothing after the previous
    build checks only the rebuilt days: the other days have not changed since. Otherwise (no
    build, a full build, or violations last time) it checks every day.
    """
    con.execute(read_sql("meta/mart_builds.sql"))
    if build is None:
        build_id = con.execute("SELECT max(build_id) FROM meta.mart_builds").fetchone()[0]
    else:
        build_id = build.build_id
    clean_after_previous_build = {key for (key,) in con.execute(
        "SELECT check_key FROM meta.check_results WHERE violations = 0 AND build_id = ?", [(build_id or 0) - 1]
    ).fetchall()}
    day_columns = dated_tables()
    results = []
    for check in checks:
        sql, days_checked = check.sql, None
        if build and not build.is_full and check.incremental_by and check.key in clean_after_previous_build:
            days_checked = build.days
            scoped = _scope_to_days(COMMENT.sub("", check.sql), tables_read(check.sql), build.days, day_columns)
            sql = f"SELECT * FROM ({scoped}) WHERE {day_filter(check.incremental_by, build.days)}"
        violations, first = find_violations(con, sql, limit)
        results.append(CheckResult(check, violations, first, days_checked))
    for result in results:
        con.execute(
            "INSERT OR REPLACE INTO meta.check_results VALUES (?, ?, current_timestamp, ?, ?)",
            [result.check.key, build_id, result.violations,
             None if result.days_checked is None else len(result.days_checked)],
        )
    return results


def find_violations(con: duckdb.DuckDBPyConnection, sql: str, limit: int = 10) -> tuple[int, pl.DataFrame]:
    """How many rows the query of a check selects (rows that break it), and the first ``limit``."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE violations AS {sql}")
    ((count,),) = con.execute("SELECT count(*) FROM violations").fetchall()
    first = con.sql(f"SELECT * FROM violations LIMIT {limit}").pl()
    con.execute("DROP TABLE violations")
    return count, first


def build_marts(
    con: duckdb.DuckDBPyConnection,
    budgets_usd: Mapping[str, Decimal] | None = None,
    prices_csv: Path | str = DEFAULT_PRICES_CSV,
    cost_centers: pl.DataFrame | None = None,
    *,
    full: bool = False,
) -> MartBuild:
    """Bring every intermediate and mart table up to date with the raw tables, in one transaction.

    Incremental when it can be (see the module docstring); ``full=True`` recomputes everything.
    ``budgets_usd`` are monthly budgets by workspace name or ID (USD) for the spend signals;
    ``cost_centers`` the mapping ``pipelines.cost_centers.read_cost_centers`` read (default none).
    """
    price_file_rows = read_price_file(prices_csv)  # validated before anything touches the warehouse
    ensure_schema(con)
    budgets = dict(budgets_usd or {})
    inputs = {
        "price_file_rows": price_file_rows,
        "runtime_price_rows": pl.DataFrame(
            {
                "price_type": ["code_execution", "session_usage"],
                "list_usd_per_hour": [str(CODE_EXECUTION_USD_PER_CONTAINER_HOUR), str(SESSION_USD_PER_SESSION_HOUR)],
            }
        ),
        "workspace_budget_rows": pl.DataFrame(
            {
                "workspace": list(budgets),
                "monthly_budget_usd": [str(amount) for amount in budgets.values()],
            },
            schema={"workspace": pl.String, "monthly_budget_usd": pl.String},
        ),
        "cost_center_rows": read_cost_centers(None) if cost_centers is None else cost_centers,
    }
    tables = mart_tables()
    for name, frame in inputs.items():
        con.register(name, frame)
    try:
        with transaction(con):
            build = _build(con, tables, inputs, full)
    finally:
        for name in inputs:
            con.unregister(name)
        con.execute(f"DROP TABLE IF EXISTS {MART_BUILD_DATES}")
    return build


def _build(con: duckdb.DuckDBPyConnection, tables: list[MartTable], inputs: Mapping[str, pl.DataFrame],
           full: bool) -> MartBuild:
    for schema in MART_SCHEMAS:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    con.execute(read_sql("meta/mart_builds.sql"))
    fingerprint = _fingerprint(con, tables, inputs)
    last = con.execute("SELECT build_id, fingerprint FROM meta.mart_builds ORDER BY build_id DESC LIMIT 1").fetchone()
    existing = {f"{schema}.{name}" for schema, name in con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database()").fetchall()}
    if full:
        reason = "full build requested"
    elif last is None:
        reason = "first build"
    elif last[1] != fingerprint:
        reason = "the SQL, the price table, the budgets, the cost centers or an entity table changed"
    elif any(table.table not in existing for table in tables):
        reason = "a table is missing"
    else:
        reason = "incremental"
    is_full = reason != "incremental"
    days = loaded_days(con) if is_full else changed_days(con, "meta.mart_built_partitions")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {MART_BUILD_DATES} (date DATE NOT NULL)")
    con.execute(f"INSERT INTO {MART_BUILD_DATES} SELECT unnest(CAST(? AS DATE[]))", [days])
    day_columns = dated_tables()
    for table in tables:
        if is_full or not table.incremental_by or table.scopes_itself:
            con.execute(table.sql)
        else:
            days_query = _scope_to_days(table.query, table.reads, days, day_columns)
            replace_days(con, table.table, table.incremental_by, days, f"({days_query})")
    # The ledger may have added days it re-exported (see focus_costs.sql): they changed too.
    days = [day for (day,) in con.execute(f"SELECT DISTINCT date FROM {MART_BUILD_DATES} ORDER BY 1").fetchall()]
    con.execute("DELETE FROM meta.mart_built_partitions")
    con.execute(f"INSERT INTO meta.mart_built_partitions {latest_loads_sql()}")
    build_id = con.execute("SELECT coalesce(max(build_id), 0) + 1 FROM meta.mart_builds").fetchone()[0]
    con.execute("INSERT INTO meta.mart_builds VALUES (?, current_timestamp, ?, ?, ?, ?)",
                [build_id, is_full, reason, fingerprint, days])
    row_counts = {table.table: con.execute(f"SELECT count(*) FROM {table.table}").fetchall()[0][0] for table in tables}
    return MartBuild(build_id, row_counts, is_full, reason, days)


def _scope_to_days(query: str, reads: frozenset[str], days: list[date], day_columns: Mapping[str, str]) -> str:
    """The query (without comments) restricted to ``days``: every day-grained table it reads is read
    through a filter on its day column, so the work is proportional to the days, not to the warehouse."""
    for read in sorted(reads & day_columns.keys()):
        scoped = f"(SELECT * FROM {read} WHERE {day_filter(day_columns[read], days)})"
        query = re.sub(rf"(?<![\w.']){re.escape(read)}(?![\w'])", scoped, query)
    return query


def _fingerprint(con: duckdb.DuckDBPyConnection, tables: list[MartTable], inputs: Mapping[str, pl.DataFrame]) -> str:
    """A hash of every input of the marts except the report rows and the load log (which says the days
    they changed on): when it changes, every day must be rebuilt (a renamed workspace renames its
    history, a new price re-prices it)."""
    digest = hashlib.sha256()
    for table in sorted(tables, key=lambda table: table.table):  # the build order may vary between processes
        digest.update(table.sql.encode())
    for name, frame in sorted(inputs.items()):
        digest.update(name.encode() + frame.write_csv().encode())
    entity_tables = sorted({read for table in tables for read in table.reads
                            if read.startswith("raw.") and read not in {*raw_day_columns(), "raw.load_log"}})
    for entity_table in entity_tables:
        ((content,),) = con.execute(
            f"SELECT md5(coalesce(string_agg(CAST(t AS VARCHAR), chr(10) ORDER BY CAST(t AS VARCHAR)), '')) "
            f"FROM {entity_table} AS t"
        ).fetchall()
        digest.update(entity_table.encode() + content.encode())
    return digest.hexdigest()


