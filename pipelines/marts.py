"""Build the analytics marts from the raw tables and check what they promise, independent of Dagster.

Every file in ``sql/intermediate/`` and ``sql/marts/`` creates the table named after it (schema
``intermediate`` or ``marts``). Its header comment says what the table is and declares its grain
(``-- Grain: col, col, ...``), which a uniqueness check tests; the tables it reads (``raw.x``,
``intermediate.x``, ``marts.x``) are its dependencies and decide the build order. Every file in
``sql/checks/`` selects the rows that break one promise of a table (``-- Asset: marts.x``) and
says how bad that is (``-- Severity: ERROR`` or ``WARN``).

Strategy: every build runs in one transaction, so readers never see marts built from different raw
states and a failed build keeps the previous marts. The first build, and any build whose inputs
other than the report rows changed (the SQL, the price table, the budgets, the entity tables: see
``meta.mart_builds``), recomputes every table whole with set-based SQL. Otherwise a build is
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
from datetime import date, timedelta
from decimal import Decimal
from graphlib import TopologicalSorter
from pathlib import Path

import duckdb
import polars as pl

from pipelines.changes import changed_days, days_sql, latest_loads_sql, loaded_days
from pipelines.ingest import CLAUDE_CODE, COST_REPORT, MESSAGES_USAGE
from pipelines.load.warehouse import ensure_schema, read_sql, sql_dir
from pipelines.prices import (
    CODE_EXECUTION_USD_PER_CONTAINER_HOUR,
    DEFAULT_PRICES_CSV,
    SESSION_USD_PER_SESSION_HOUR,
    load_price_table,
)

MART_SCHEMAS = ("intermediate", "marts")
_TABLE_REFERENCE = re.compile(r"\b(raw|intermediate|marts)\.([a-z_][a-z0-9_]*)\b")
_COMMENT = re.compile(r"--.*$", re.MULTILINE)
_HEADER_FIELD = re.compile(r"^--\s*(Grain|Asset|Severity|Incremental):\s*(.+)$")
_CREATE_TABLE = re.compile(r"^\s*CREATE OR REPLACE TABLE (\S+) AS\s", re.IGNORECASE)
# The temp table of the UTC days a build rewrites in the day-grained tables.
MART_BUILD_DATES = "mart_build_dates"
# Raw report tables and the column that places a row in a UTC day (the loader's partition column).
RAW_DAY_COLUMNS: dict[str, str] = {
    table: column for report in (MESSAGES_USAGE, COST_REPORT, CLAUDE_CODE) for table, column in report.time_columns.items()
}


@dataclass(frozen=True)
class MartTable:
    """One SQL file: the table it creates, what it is, its grain and the tables it reads."""

    schema: str
    name: str
    sql: str
    description: str
    grain: tuple[str, ...]
    reads: frozenset[str]
    incremental_by: str | None  # the day column of a table rebuilt day by day, else None (rebuilt whole)

    @property
    def table(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def scopes_itself(self) -> bool:
        """An incremental table whose SQL is not one CREATE OR REPLACE: it reads ``mart_build_dates`` itself."""
        return self.incremental_by is not None and not _CREATE_TABLE.match(_COMMENT.sub("", self.sql))


@dataclass(frozen=True)
class MartBuild:
    """What a build did: row counts by table, whether it was full (and why) and the days it rewrote."""

    build_id: int
    row_counts: dict[str, int]
    is_full: bool
    reason: str
    days: list[date]


@dataclass(frozen=True)
class MartCheck:
    """A promise of one table: ``sql`` selects the rows that break it (none = the check passes)."""

    name: str
    table: str
    severity: str  # ERROR or WARN
    description: str
    sql: str
    # The day column of its violations, when they come only from the same day's rows of the tables
    # it reads (``-- Incremental: date``): after an incremental build it may check only those days.
    incremental_by: str | None = None

    @property
    def key(self) -> str:
        return f"{self.table}:{self.name}"


@dataclass(frozen=True)
class CheckResult:
    check: MartCheck
    violations: int
    first_violations: pl.DataFrame
    days_checked: list[date] | None  # None: every day


def mart_tables() -> list[MartTable]:
    """Every intermediate and mart table, in an order where each comes after the tables it reads."""
    tables = {table.table: table for schema in MART_SCHEMAS for table in _read_schema(schema)}
    order = TopologicalSorter({name: t.reads & tables.keys() for name, t in tables.items()}).static_order()
    return [tables[name] for name in order]


def mart_checks() -> list[MartCheck]:
    """The grain of every table is unique, plus every promise in ``sql/checks/``."""
    checks = [
        MartCheck(
            name="grain_is_unique",
            table=table.table,
            severity="ERROR",
            description=f"One row per {', '.join(table.grain)}: lists the grain values that have several rows.",
            sql=f"SELECT {', '.join(table.grain)}, count(*) AS rows FROM {table.table} GROUP BY ALL HAVING count(*) > 1",
            # duplicates share their day when the day is part of the grain
            incremental_by=table.incremental_by if table.incremental_by in table.grain else None,
        )
        for table in mart_tables()
    ]
    for path in sorted((sql_dir() / "checks").glob("*.sql")):
        sql = path.read_text()
        description, fields = _header(path, sql, ("Asset", "Severity"))
        checks.append(MartCheck(path.stem, fields["Asset"], fields["Severity"], description, sql,
                                fields.get("Incremental")))
    return checks


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
            scoped = _scope_to_days(_COMMENT.sub("", check.sql), _tables_read(check.sql), build.days, day_columns)
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
    *,
    full: bool = False,
) -> MartBuild:
    """Bring every intermediate and mart table up to date with the raw tables, in one transaction.

    Incremental when it can be (see the module docstring); ``full=True`` recomputes everything.
    ``budgets_usd`` are monthly budgets by workspace name or ID (USD) for the spend signals.
    """
    load_price_table(prices_csv)  # validates the reviewed file (dates, overlaps) before it is used
    ensure_schema(con)
    budgets = dict(budgets_usd or {})
    inputs = {
        "price_file_rows": pl.read_csv(prices_csv, infer_schema=False),
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
    }
    tables = mart_tables()
    con.execute("SET enable_progress_bar = false")  # a long build must not draw bars into the run's logs
    for name, frame in inputs.items():
        con.register(name, frame)
    try:
        con.execute("BEGIN TRANSACTION")
        try:
            build = _build(con, tables, inputs, full)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        for name in inputs:
            con.unregister(name)
        con.execute(f"DROP TABLE IF EXISTS {MART_BUILD_DATES}")
    return build


def dated_tables() -> dict[str, str]:
    """Every table whose rows change day by day, with the column that places a row in a UTC day:
    the raw reports and the incremental marts. A publication copies only their changed days."""
    return RAW_DAY_COLUMNS | {table.table: table.incremental_by for table in mart_tables() if table.incremental_by}


def day_filter(column: str, days: list[date]) -> str:
    """An SQL condition: ``column`` (a DATE or a TIMESTAMPTZ read in UTC) falls on one of ``days``.
    The range lets DuckDB skip row groups by their min/max; the list keeps it exact."""
    if not days:
        return "false"
    after_last = max(days) + timedelta(days=1)
    return (f"{column} >= DATE '{min(days).isoformat()}' AND {column} < DATE '{after_last.isoformat()}' "
            f"AND CAST({column} AS DATE) IN {days_sql(days)}")


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
        reason = "the SQL, the price table, the budgets or an entity table changed"
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
        elif days:
            con.execute(f"DELETE FROM {table.table} WHERE {day_filter(table.incremental_by, days)}")
            query = _CREATE_TABLE.sub("", _COMMENT.sub("", table.sql), count=1).strip().rstrip(";")
            days_query = _scope_to_days(query, table.reads, days, day_columns)
            con.execute(f"INSERT INTO {table.table} BY NAME SELECT * FROM ({days_query}) "
                        f"WHERE {day_filter(table.incremental_by, days)}")
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
        query = re.sub(rf"(?<![\w.]){re.escape(read)}(?![\w])", scoped, query)
    return query


def _fingerprint(con: duckdb.DuckDBPyConnection, tables: list[MartTable], inputs: Mapping[str, pl.DataFrame]) -> str:
    """A hash of every input of the marts except the report rows: when it changes, every day must be
    rebuilt (a renamed workspace renames its history, a new price re-prices it)."""
    digest = hashlib.sha256()
    for table in tables:
        digest.update(table.sql.encode())
    for name, frame in sorted(inputs.items()):
        digest.update(name.encode() + frame.write_csv().encode())
    entity_tables = sorted({read for table in tables for read in table.reads
                            if read.startswith("raw.") and read not in RAW_DAY_COLUMNS})
    for entity_table in entity_tables:
        ((content,),) = con.execute(
            f"SELECT md5(coalesce(string_agg(CAST(t AS VARCHAR), chr(10) ORDER BY CAST(t AS VARCHAR)), '')) "
            f"FROM {entity_table} AS t"
        ).fetchall()
        digest.update(entity_table.encode() + content.encode())
    return digest.hexdigest()


def _read_schema(schema: str) -> list[MartTable]:
    tables = []
    for path in sorted((sql_dir() / schema).glob("*.sql")):
        sql = path.read_text()
        description, fields = _header(path, sql, ("Grain",))
        table = MartTable(
            schema=schema,
            name=path.stem,
            sql=sql,
            description=description,
            grain=tuple(column.strip() for column in fields["Grain"].split(",")),
            reads=_tables_read(sql) - {f"{schema}.{path.stem}"},
            incremental_by=fields.get("Incremental"),
        )
        if table.scopes_itself and MART_BUILD_DATES not in sql:
            raise ValueError(f"{path}: an incremental table's SQL is one CREATE OR REPLACE TABLE {table.table} AS "
                             f"query, or scopes itself to the days in {MART_BUILD_DATES}")
        tables.append(table)
    return tables


def _tables_read(sql: str) -> frozenset[str]:
    """Every raw, intermediate or mart table the SQL names outside its comments."""
    return frozenset(".".join(match) for match in _TABLE_REFERENCE.findall(_COMMENT.sub("", sql)))


def _header(path: Path, sql: str, required: tuple[str, ...]) -> tuple[str, dict[str, str]]:
    """The leading comment of a SQL file: its prose (one line) and its ``-- Field: value`` lines."""
    prose, fields = [], {}
    for line in sql.splitlines():
        if not line.startswith("--"):
            break
        field = _HEADER_FIELD.match(line)
        if field:
            fields[field.group(1)] = field.group(2).strip()
        else:
            prose.append(line.removeprefix("--").strip())
    missing = [name for name in required if name not in fields]
    if missing:
        raise ValueError(f"{path}: the header comment needs a '-- {missing[0]}: ...' line")
    return " ".join(line for line in prose if line), fields
