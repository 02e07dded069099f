"""The short printed summary after a demo: spend per workspace, top API keys and list versus billed
per model, from the marts."""

from __future__ import annotations

import sys
from pathlib import Path

from pipelines.warehouse import read_sql
from pipelines.query import run_query, write_result

SUMMARY_QUERIES = {
    "Billed spend per workspace (USD)": "summary/spend_by_workspace.sql",
    "Top API keys by tokens": "summary/top_api_keys.sql",
    "List versus billed per model, Analytics API days (USD)": "summary/list_vs_billed.sql",
}


def print_summary(serving_path: str | Path) -> None:
    """Print each summary query as a table, read from the serving copy as `usage-pipeline sql` reads it."""
    for title, sql_file in SUMMARY_QUERIES.items():
        columns, rows = run_query(serving_path, read_sql(sql_file))
        print(f"\n{title}")
        write_result(columns, rows, sys.stdout)
