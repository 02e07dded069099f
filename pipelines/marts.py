"""Build the analytics marts from the raw tables and check what they promise, independent of Dagster.

Every file in ``sql/intermediate/`` and ``sql/marts/`` creates the table named after it (schema
``intermediate`` or ``marts``). Its header comment says what the table is and declares its grain
(``-- Grain: col, col, ...``), which a uniqueness check tests; the tables it reads (``raw.x``,
``intermediate.x``, ``marts.x``) are its dependencies and decide the build order. Every file in
``sql/checks/`` selects the rows that break one promise of a table (``-- Asset: marts.x``) and
says how bad that is (``-- Severity: ERROR`` or ``WARN``).

Strategy: every build recomputes every table whole with set-based SQL, all in one transaction, so
readers never see marts built from different raw states and a failed build keeps the previous
marts. Only ``marts.focus_costs`` keeps state: it is the FOCUS export ledger (see its SQL file).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from graphlib import TopologicalSorter
from pathlib import Path

import duckdb
import polars as pl

from pipelines.load.warehouse import ensure_schema, sql_dir
from pipelines.prices import (
    CODE_EXECUTION_USD_PER_CONTAINER_HOUR,
    DEFAULT_PRICES_CSV,
    SESSION_USD_PER_SESSION_HOUR,
    load_price_table,
)

MART_SCHEMAS = ("intermediate", "marts")
_TABLE_REFERENCE = re.compile(r"\b(raw|intermediate|marts)\.([a-z_][a-z0-9_]*)\b")
_COMMENT = re.compile(r"--.*$", re.MULTILINE)
_HEADER_FIELD = re.compile(r"^--\s*(Grain|Asset|Severity):\s*(.+)$")


@dataclass(frozen=True)
class MartTable:
    """One SQL file: the table it creates, what it is, its grain and the tables it reads."""

    schema: str
    name: str
    sql: str
    description: str
    grain: tuple[str, ...]
    reads: frozenset[str]

    @property
    def table(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class MartCheck:
    """A promise of one table: ``sql`` selects the rows that break it (none = the check passes)."""

    name: str
    table: str
    severity: str  # ERROR or WARN
    description: str
    sql: str


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
        )
        for table in mart_tables()
    ]
    for path in sorted((sql_dir() / "checks").glob("*.sql")):
        sql = path.read_text()
        description, fields = _header(path, sql, ("Asset", "Severity"))
        checks.append(MartCheck(path.stem, fields["Asset"], fields["Severity"], description, sql))
    return checks


def find_violations(con: duckdb.DuckDBPyConnection, check: MartCheck, limit: int = 10) -> tuple[int, pl.DataFrame]:
    """How many rows break the check, and the first ``limit`` of them."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE violations AS {check.sql}")
    ((count,),) = con.execute("SELECT count(*) FROM violations").fetchall()
    first = con.sql(f"SELECT * FROM violations LIMIT {limit}").pl()
    con.execute("DROP TABLE violations")
    return count, first


def build_marts(
    con: duckdb.DuckDBPyConnection,
    budgets_usd: Mapping[str, Decimal] | None = None,
    prices_csv: Path | str = DEFAULT_PRICES_CSV,
) -> dict[str, int]:
    """Rebuild every intermediate and mart table in one transaction; returns row counts by table.

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
            for schema in MART_SCHEMAS:
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            for table in tables:
                con.execute(table.sql)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        for name in inputs:
            con.unregister(name)
    return {table.table: con.execute(f"SELECT count(*) FROM {table.table}").fetchall()[0][0] for table in tables}


def _read_schema(schema: str) -> list[MartTable]:
    tables = []
    for path in sorted((sql_dir() / schema).glob("*.sql")):
        sql = path.read_text()
        description, fields = _header(path, sql, ("Grain",))
        tables.append(
            MartTable(
                schema=schema,
                name=path.stem,
                sql=sql,
                description=description,
                grain=tuple(column.strip() for column in fields["Grain"].split(",")),
                reads=_tables_read(sql) - {f"{schema}.{path.stem}"},
            )
        )
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
