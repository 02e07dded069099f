"""Reading a warehouse file in tests: table contents comparable across runs."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.catalog import raw_day_columns

REPORT_TABLES = tuple(raw_day_columns())  # raw.messages_usage, raw.cost_report, raw.claude_code_*
ENTITY_TABLES = (
    "raw.organization",
    "raw.users",
    "raw.invites",
    "raw.workspaces",
    "raw.workspace_members",
    "raw.api_keys",
)
# Columns that legitimately differ between two loads of the same data.
LOAD_TIME_COLUMNS = {"loaded_at", "valid_from", "valid_to"}


def table_contents(path: Path, tables: tuple[str, ...] = REPORT_TABLES + ENTITY_TABLES) -> dict[str, list[tuple]]:
    """Every row of every table, load times left out, sorted: equal dicts = identical warehouses."""
    with duckdb.connect(str(path), read_only=True) as con:
        contents = {}
        for table in tables:
            columns = [
                name
                for (name,) in con.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_schema || '.' || table_name = ? ORDER BY ordinal_position",
                    [table],
                ).fetchall()
                if name not in LOAD_TIME_COLUMNS
            ]
            rows = con.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
            contents[table] = sorted(rows, key=repr)
        return contents


def record_reload(path: Path, table: str, day: str) -> None:
    """Log a new load of a raw partition, as the loader does with the rows it replaces: the next
    (incremental) marts build and publication redo that day."""
    with duckdb.connect(str(path)) as con:
        con.execute(f"""
            INSERT INTO raw.load_log BY NAME
            SELECT * REPLACE (now() AS loaded_at) FROM raw.load_log
            WHERE table_name = '{table}' AND partition_date = DATE '{day}'
            ORDER BY loaded_at DESC LIMIT 1""")


def scalar(path: Path, sql: str, params: list | None = None):
    with duckdb.connect(str(path), read_only=True) as con:
        ((value,),) = con.execute(sql, params or []).fetchall()
        return value


def tables_that_differ(path: Path, other: Path, schemas: tuple[str, ...], ignore: frozenset[str] = frozenset()) -> list[str]:
    """The tables of ``schemas`` whose rows (as multisets, columns in ``ignore`` left out) differ
    between two DuckDB files, or that only one of them has."""
    with duckdb.connect(str(path), read_only=True) as con:
        con.execute(f"ATTACH '{other}' AS other (READ_ONLY)")
        listed = ", ".join(f"'{schema}'" for schema in schemas)
        tables = "SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE database_name = ? " \
                 f"AND schema_name IN ({listed})"
        mine, theirs = ({name for (name,) in con.execute(tables, [db]).fetchall()}
                        for db in (con.execute("SELECT current_database()").fetchone()[0], "other"))
        differ = sorted(mine ^ theirs)
        for table in sorted(mine & theirs):
            excluded = [name for (name,) in con.execute(f"SELECT column_name FROM (DESCRIBE {table})").fetchall()
                        if name in ignore]
            select = f"SELECT * EXCLUDE ({', '.join(excluded)})" if excluded else "SELECT *"
            ((count,),) = con.execute(
                f"SELECT count(*) FROM (({select} FROM {table} EXCEPT ALL {select} FROM other.{table}) "
                f"UNION ALL ({select} FROM other.{table} EXCEPT ALL {select} FROM {table}))"
            ).fetchall()
            if count:
                differ.append(table)
        return differ
