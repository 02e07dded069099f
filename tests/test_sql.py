"""`usage-pipeline sql` on the demo's serving copy: readable output, exact values, read-only, and
every example query of the README runs as written."""

from __future__ import annotations

import csv
import json
import re
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from tests.test_cli import run_cli

README = Path(__file__).resolve().parents[1] / "README.md"
DEMO_SERVING = {"USAGE_PIPELINE_SERVING_PATH": "data/demo-serving.duckdb"}  # the demo's own serving copy
WORKSPACE_TOTALS = "SELECT workspace_name, sum(cost_usd) AS cost_usd FROM marts.workspace_monthly_cost GROUP BY 1 ORDER BY 1"


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    """A folder where `usage-pipeline demo` ran: data/demo.duckdb and its serving copy data/demo-serving.duckdb.

    32 days reach into last month whatever today is, so "last month" examples have data."""
    folder = tmp_path_factory.mktemp("demo")
    result = run_cli("demo", "--days", "32", cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder


def readme_example_queries() -> list[str]:
    """The ```sql blocks of the README's "Example queries" section."""
    section = README.read_text().split("### Example queries\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sql\n(.*?)```", section, flags=re.DOTALL)


def test_sql_prints_an_aligned_table_and_exact_csv_and_json(demo_dir):
    with duckdb.connect(str(demo_dir / "data" / "demo-serving.duckdb"), read_only=True) as con:
        expected = [(name, str(cost)) for name, cost in con.execute(WORKSPACE_TOTALS).fetchall()]

    table = run_cli("sql", WORKSPACE_TOTALS, env=DEMO_SERVING, cwd=demo_dir)
    assert table.returncode == 0, table.stderr
    header, rule, *rows, footer = table.stdout.splitlines()
    assert header.split() == ["workspace_name", "cost_usd"]
    assert set(rule.replace(" ", "")) == {"-"} and len(rule) == len(max(rows, key=len))
    assert [row.rsplit(None, 1)[1] for row in rows] == [cost for _, cost in expected]
    assert len({len(row) for row in rows}) == 1  # money right-aligned: every row ends in the same column
    assert footer == f"({len(expected)} rows)"

    as_csv = run_cli("sql", WORKSPACE_TOTALS, "--format", "csv", env=DEMO_SERVING, cwd=demo_dir)
    assert list(csv.reader(as_csv.stdout.splitlines())) == [["workspace_name", "cost_usd"], *map(list, expected)]
    as_json = run_cli("sql", WORKSPACE_TOTALS, "--format", "json", env=DEMO_SERVING, cwd=demo_dir)
    assert json.loads(as_json.stdout) == [{"workspace_name": n, "cost_usd": c} for n, c in expected]
    assert sum(Decimal(c) for _, c in expected) > 0


def test_sql_is_read_only_and_explains_what_is_missing(demo_dir, tmp_path):
    deleted = run_cli("sql", "DELETE FROM marts.user_daily_cost", env=DEMO_SERVING, cwd=demo_dir)
    assert deleted.returncode == 1
    assert deleted.stderr.startswith("error: ") and "read-only" in deleted.stderr and "Traceback" not in deleted.stderr
    kept = run_cli("sql", "SELECT count(*) > 0 AS kept FROM marts.user_daily_cost", env=DEMO_SERVING, cwd=demo_dir)
    assert kept.stdout.split()[2] == "True"

    unknown = run_cli("sql", "SELECT * FROM marts.no_such_table", env=DEMO_SERVING, cwd=demo_dir)
    assert unknown.returncode == 1 and "no_such_table" in unknown.stderr and "Traceback" not in unknown.stderr

    nothing = run_cli("sql", "SELECT 1", cwd=tmp_path)  # no sync has published anything here yet
    assert nothing.returncode == 1
    assert "no serving copy at data/serving.duckdb" in nothing.stderr and "usage-pipeline sync" in nothing.stderr
    elsewhere = {"USAGE_PIPELINE_SERVING_PATH": str(demo_dir / "data" / "demo-serving.duckdb")}
    assert run_cli("sql", "SELECT 1 AS one", env=elsewhere, cwd=tmp_path).stdout.split()[2] == "1"


def test_every_readme_example_query_runs_as_written_and_returns_rows(demo_dir):
    queries = readme_example_queries()
    assert len(queries) >= 4
    for query in queries:
        result = run_cli("sql", query, "--format", "json", env=DEMO_SERVING, cwd=demo_dir)
        assert result.returncode == 0, (query, result.stderr)
        assert json.loads(result.stdout), query
