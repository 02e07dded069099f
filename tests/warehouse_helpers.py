"""Reading a warehouse file in tests: table contents comparable across runs."""

from __future__ import annotations

from pathlib import Path

import duckdb

REPORT_TABLES = (
    "raw.messages_usage",
    "raw.cost_report",
    "raw.claude_code_usage",
    "raw.claude_code_model_usage",
    "raw.claude_code_tool_actions",
)
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


def scalar(path: Path, sql: str, params: list | None = None):
    with duckdb.connect(str(path), read_only=True) as con:
        ((value,),) = con.execute(sql, params or []).fetchall()
        return value
