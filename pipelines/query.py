"""`usage-pipeline sql`: run an analyst's query on the serving copy and print the result.

It reads the serving copy read-only, never the warehouse, so a query can run at any time without
blocking (or being blocked by) a sync. Values print exactly as DuckDB returns them: money stays
an exact decimal in every format.
"""

from __future__ import annotations

import csv
import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TextIO

import duckdb

from pipelines.publish import read_serving_copy
from pipelines.terminal import first_line, printable

FORMATS = ("table", "csv", "json")


REFUSED = (
    "`usage-pipeline sql` reads the serving copy only: ATTACH, COPY, local files, extensions and "
    "settings are refused (README, Security)"
)


class QueryError(RuntimeError):
    """DuckDB rejected the query (syntax, unknown table or column, a write on the read-only copy,
    anything reaching beyond the copy)."""


def run_query(serving_path: str | Path, sql: str) -> tuple[list[str], list[tuple]]:
    """Column names and rows of `sql` run on the serving copy (UTC session time zone)."""
    with read_serving_copy(serving_path) as con:
        try:
            result = con.execute(sql)
        except duckdb.Error as exc:
            refused = isinstance(exc, duckdb.PermissionException) or "configuration has been locked" in str(exc)
            raise QueryError(first_line(exc) + (f"; {REFUSED}" if refused else "")) from None
        if result.description is None:  # a statement without a result (SET, PRAGMA ...)
            return [], []
        return [column[0] for column in result.description], result.fetchall()


def write_result(columns: list[str], rows: list[tuple], out: TextIO, output_format: str = "table") -> None:
    """Print rows as an aligned table (numbers right-aligned, NULL shown), CSV or a JSON array.

    Text from the API (names, emails) is printed without its control characters: shown as escapes in
    the table and CSV, escaped by JSON itself."""
    if output_format == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(map(printable, columns))
        writer.writerows(["" if value is None else _text(value) for value in row] for row in rows)
    elif output_format == "json":
        json.dump([dict(zip(columns, row)) for row in rows], out, default=_text, indent=1)
        out.write("\n")
    else:
        out.write(_table(columns, rows))


def _table(columns: list[str], rows: list[tuple]) -> str:
    names = [printable(name) for name in columns]
    cells = [["NULL" if value is None else _text(value) for value in row] for row in rows]
    widths = [max([len(name)] + [len(row[i]) for row in cells]) for i, name in enumerate(names)]
    numeric = [bool(rows) and all(isinstance(row[i], (int, float, Decimal)) or row[i] is None for row in rows)
               for i in range(len(columns))]

    def line(values: list[str]) -> str:
        return "  ".join(
            value.rjust(width) if right else value.ljust(width) for value, width, right in zip(values, widths, numeric)
        ).rstrip() + "\n"

    header = line(names) + line(["-" * width for width in widths])
    plural = "" if len(rows) == 1 else "s"
    return header + "".join(line(row) for row in cells) + f"({len(rows)} row{plural})\n"


def _text(value: object) -> str:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return printable(str(value))
