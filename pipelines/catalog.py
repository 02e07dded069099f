"""What the warehouse holds: the raw tables (shared DDL in ``sql/raw/`` and one ``raw.sql`` per
report) and the tables whose rows change day by day, with the column that places a row in a UTC day.

The marts build and the publication read the same catalog, so a new report's tables are built
from and published like the others without either knowing its name.
"""

from __future__ import annotations

import duckdb

from pipelines.models import mart_tables
from pipelines.reports import REPORTS
from pipelines.warehouse import sql_dir


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every raw table that does not exist yet (the DDL files are idempotent)."""
    for ddl_file in sorted((sql_dir() / "raw").glob("*.sql")):
        con.execute(ddl_file.read_text())
    for report in REPORTS:
        con.execute(report.ddl)


def raw_day_columns() -> dict[str, str]:
    """Every raw report table, with the column the loader replaces its UTC days by."""
    return {table: column for report in REPORTS for table, column in report.tables.items()}


def dated_tables() -> dict[str, str]:
    """Every table whose rows change day by day, with the column that places a row in a UTC day:
    the raw reports and the incremental marts. A publication copies only their changed days."""
    return raw_day_columns() | {table.table: table.incremental_by for table in mart_tables() if table.incremental_by}


