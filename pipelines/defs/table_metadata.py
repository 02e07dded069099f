"""The column schema of a DuckDB table as Dagster metadata (`dagster/column_schema`).

Attached to every raw and mart materialization, so the UI shows each table's columns and types
(and column comments, where the DDL has them) without anyone opening the warehouse.
"""

from __future__ import annotations

import dagster as dg
import duckdb


def column_schema(con: duckdb.DuckDBPyConnection, table: str) -> dg.TableSchema:
    """The columns of `schema.table`, in table order."""
    schema, name = table.split(".")
    columns = con.execute(
        "SELECT column_name, data_type, comment FROM duckdb_columns() "
        "WHERE schema_name = ? AND table_name = ? ORDER BY column_index",
        [schema, name],
    ).fetchall()
    return dg.TableSchema(
        columns=[dg.TableColumn(column, data_type, description=comment) for column, data_type, comment in columns]
    )
