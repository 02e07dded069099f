"""The SQL models: what each file of ``sql/intermediate/``, ``sql/marts/`` and ``sql/checks/`` builds or
checks, read from its header comment.

Every file in ``sql/intermediate/`` and ``sql/marts/`` creates the table named after it (schema
``intermediate`` or ``marts``). Its header comment says what the table is and declares its grain
(``-- Grain: col, col, ...``), which a uniqueness check tests; the tables it reads (``raw.x``,
``intermediate.x``, ``marts.x``) are its dependencies and decide the build order. A header line
``-- Incremental: <day column>`` promises that its rows of a UTC day come only from the same day of
the day-grained tables it reads (see ``pipelines.marts``). Every file in ``sql/checks/`` selects the
rows that break one promise of a table (``-- Asset: marts.x``) and says how bad that is
(``-- Severity: ERROR`` or ``WARN``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from graphlib import TopologicalSorter
from pathlib import Path

from pipelines.warehouse import sql_dir

MART_SCHEMAS = ("intermediate", "marts")
# a table name in a string literal (e.g. the load log's table_name = 'raw.cost_report') is not a read
_TABLE_REFERENCE = re.compile(r"(?<!')\b(raw|intermediate|marts)\.([a-z_][a-z0-9_]*)\b(?!')")
COMMENT = re.compile(r"--.*$", re.MULTILINE)
_HEADER_FIELD = re.compile(r"^--\s*(Grain|Asset|Severity|Incremental):\s*(.+)$")
CREATE_TABLE = re.compile(r"^\s*CREATE OR REPLACE TABLE (\S+) AS\s", re.IGNORECASE)
# The temp table of the UTC days a build rewrites in the day-grained tables.
MART_BUILD_DATES = "mart_build_dates"


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
        return self.incremental_by is not None and not CREATE_TABLE.match(COMMENT.sub("", self.sql))

    @property
    def query(self) -> str:
        """The SELECT of a ``CREATE OR REPLACE TABLE ... AS`` file, without comments."""
        return CREATE_TABLE.sub("", COMMENT.sub("", self.sql), count=1).strip().rstrip(";")


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
            reads=tables_read(sql) - {f"{schema}.{path.stem}"},
            incremental_by=fields.get("Incremental"),
        )
        if table.scopes_itself and MART_BUILD_DATES not in sql:
            raise ValueError(f"{path}: an incremental table's SQL is one CREATE OR REPLACE TABLE {table.table} AS "
                             f"query, or scopes itself to the days in {MART_BUILD_DATES}")
        tables.append(table)
    return tables


def tables_read(sql: str) -> frozenset[str]:
    """Every raw, intermediate or mart table the SQL names outside its comments."""
    return frozenset(".".join(match) for match in _TABLE_REFERENCE.findall(COMMENT.sub("", sql)))


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
