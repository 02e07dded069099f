"""The short printed summary after a demo or sync: spend per workspace and top API keys."""

from __future__ import annotations

import polars as pl

from pipelines.load.warehouse import connect, read_sql

SUMMARY_QUERIES = {
    "Billed spend per workspace (USD)": "summary/spend_by_workspace.sql",
    "Top API keys by tokens": "summary/top_api_keys.sql",
}


def print_summary(warehouse_path: str) -> None:
    """Print each summary query as a table (read-only: never blocks a writer for long)."""
    with connect(warehouse_path, read_only=True) as con:
        for title, sql_file in SUMMARY_QUERIES.items():
            frame = con.sql(read_sql(sql_file)).pl()
            print(f"\n{title}")
            with pl.Config(tbl_rows=20, tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True, fmt_str_lengths=60):
                print(frame)
