"""`usage-pipeline chargeback`: one month's bill per cost center, team and workspace, as a CSV for finance.

Read from the serving copy's ``marts.cost_center_daily_cost`` (never the warehouse, so it never waits
for a sync). Each cost center's lines are followed by its total, unmapped cost comes last with empty
cost center and team, and the file ends with the month's total, which is the month's bill
(``marts.workspace_daily_cost``); money is exact decimal text.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from itertools import groupby
from pathlib import Path

from pipelines.output import write_output
from pipelines.publish import read_serving_copy
from pipelines.settings import ConfigError

COLUMNS = ("row_type", "cost_center", "team", "workspace_id", "workspace_name", "unmapped_reason", "cost_usd")

LINES_SQL = """
SELECT cost_center, team, workspace_id, any_value(workspace_name) AS workspace_name,
       any_value(unmapped_reason) AS unmapped_reason, sum(cost_usd) AS cost_usd
FROM marts.cost_center_daily_cost
WHERE date >= ? AND date < ?
GROUP BY cost_center, team, workspace_id
ORDER BY cost_center NULLS LAST, team NULLS LAST, workspace_name, workspace_id
"""
BILL_SQL = "SELECT sum(cost_usd) FROM marts.workspace_daily_cost WHERE date >= ? AND date < ?"


class ChargebackError(RuntimeError):
    """The serving copy has no cost-center data for the month asked for."""


def write_chargeback(serving_path: str | Path, month: str, output: str) -> Decimal:
    """Write the month's chargeback CSV to ``output`` (``-``: standard output); returns its total (the month's bill)."""
    first, end = month_bounds(month)
    with read_serving_copy(serving_path) as con:
        has_mart = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'marts' AND table_name = 'cost_center_daily_cost'"
        ).fetchone()[0]
        if not has_mart:
            raise ChargebackError("the serving copy has no marts.cost_center_daily_cost yet: run `usage-pipeline sync`")
        lines = con.execute(LINES_SQL, [first, end]).fetchall()
        (bill,) = con.execute(BILL_SQL, [first, end]).fetchone()
    if not lines:
        raise ChargebackError(f"no cost for {month} in the serving copy: sync that month first")
    total = sum((line[-1] for line in lines), Decimal(0))
    if total != bill:
        raise ChargebackError(f"the cost centers of {month} sum to {total} but the bill is {bill}: "
                              "see the cost_center_cost_sums_to_bill check")
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(COLUMNS)
    for cost_center, center_lines in groupby(lines, key=lambda line: line[0]):
        center_lines = list(center_lines)
        writer.writerows(("line", *_cells(line)) for line in center_lines)
        center_total = sum((line[-1] for line in center_lines), Decimal(0))
        writer.writerow(("cost_center_total", cost_center or "", "", "", "", "", center_total))
    writer.writerow(("total", "", "", "", "", "", total))
    write_output(output, text.getvalue())
    return total


def month_bounds(month: str) -> tuple[date, date]:
    """The first day of the month ``YYYY-MM`` and of the next one, or a ConfigError."""
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError:
        raise ConfigError(f"--month must be a month as YYYY-MM, got {month!r}") from None
    return first, date(first.year + first.month // 12, first.month % 12 + 1, 1)


def _cells(line: tuple) -> list:
    return ["" if value is None else value for value in line]
