"""Adding a report is adding a folder and one registry line (the README's "Adding a report").

The test copies the package, adds a toy report folder and one line to the registry, and runs
`usage-pipeline sync` from the copy against a loopback server: the toy rows reach their raw table,
the load log and the serving copy, with no other file of the package touched.
"""

from __future__ import annotations

import difflib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

from tests.scripted_server import ScriptedServer, json_reply

REPO = Path(__file__).resolve().parents[1]
DAY = "2026-11-18"

TOY_SPEC = '''"""A toy report: widget counts per day, to show that a report is one folder."""

from pathlib import Path

import polars as pl

from pipelines.normalize.report import ReportFormat, read_report
from pipelines.reports.spec import ReportSpec
from pipelines.reports.windows import bucket_params, fetch_window, rows_of

FORMAT = ReportFormat(result=pl.Struct({"widget": pl.String, "count": pl.Int64}), counts=("count",))


def decode(body):
    page = read_report(body, FORMAT)
    return page.__class__(page.rows.select("bucket_start", "bucket_end", "widget", "count", "extras"),
                          page.has_more, page.next_page, page.drift)


def fetch(client, start, end, options):
    params = bucket_params(start, end, "1d", 31)
    return fetch_window(client, "/v1/organizations/toy_report", params, decode, start, end, rows_of("raw.toy_report"))


REPORT = ReportSpec(
    name="toy_report",
    description="Widgets counted per UTC day.",
    tables={"raw.toy_report": "bucket_start"},
    fetch=fetch,
    days_per_request=lambda options: 31,
    folder=Path(__file__).parent,
)
'''

TOY_DDL = """CREATE SCHEMA IF NOT EXISTS raw;
CREATE TABLE IF NOT EXISTS raw.toy_report (
    organization_id VARCHAR NOT NULL,
    bucket_start TIMESTAMPTZ NOT NULL,
    bucket_end TIMESTAMPTZ NOT NULL,
    widget VARCHAR,
    count BIGINT NOT NULL,
    extras JSON,
    loaded_at TIMESTAMPTZ NOT NULL
);
"""

TOY_DAY_TOTALS = """SELECT (bucket_start AT TIME ZONE 'UTC')::DATE AS partition_date, count(*) AS rows,
       sum(count)::BIGINT AS tokens, NULL::DECIMAL(38,12) AS cost_cents
FROM raw.toy_report
WHERE organization_id = $organization_id AND bucket_start >= $window_start AND bucket_start < $window_end
GROUP BY ALL
"""


def add_toy_report(project: Path) -> None:
    """What a contributor does: one folder, one line."""
    folder = project / "pipelines" / "reports" / "toy_report"
    folder.mkdir()
    (folder / "__init__.py").write_text(TOY_SPEC)
    (folder / "raw.sql").write_text(TOY_DDL)
    (folder / "day_totals.sql").write_text(TOY_DAY_TOTALS)
    registry = project / "pipelines" / "reports" / "__init__.py"
    text = registry.read_text()
    registry.write_text(text.replace('    "claude_code_usage",\n', '    "claude_code_usage",\n    "toy_report",\n'))


def test_a_toy_report_flows_through_sync_load_log_and_publication(tmp_path):
    project = tmp_path / "project"
    for folder in ("pipelines", "sql"):
        shutil.copytree(REPO / folder, project / folder, ignore=shutil.ignore_patterns("__pycache__"))
    add_toy_report(project)

    registry_diff = [
        line for line in difflib.unified_diff(
            (REPO / "pipelines/reports/__init__.py").read_text().splitlines(),
            (project / "pipelines/reports/__init__.py").read_text().splitlines(), lineterm="", n=0)
        if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))
    ]
    assert registry_diff == ['+    "toy_report",']
    changed = sorted(
        str(path.relative_to(project)) for path in project.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
        and (not (REPO / path.relative_to(project)).is_file()
             or (REPO / path.relative_to(project)).read_bytes() != path.read_bytes())
    )
    assert changed == [
        "pipelines/reports/__init__.py", "pipelines/reports/toy_report/__init__.py",
        "pipelines/reports/toy_report/day_totals.sql", "pipelines/reports/toy_report/raw.sql",
    ]

    warehouse = tmp_path / "data" / "warehouse.duckdb"
    page = {
        "data": [{"starting_at": f"{DAY}T00:00:00Z", "ending_at": "2026-11-19T00:00:00Z",
                  "results": [{"widget": "gear", "count": 3}, {"widget": "cog", "count": 4}]}],
        "has_more": False, "next_page": None,
    }
    with ScriptedServer() as server:
        server.reply(json_reply({"id": "org-toy", "name": "Toy org", "type": "organization"}), json_reply(page))
        env = {key: value for key, value in os.environ.items() if not key.startswith(("USAGE_PIPELINE_", "ANTHROPIC_"))}
        env.update(PYTHONPATH=str(project), ANTHROPIC_ADMIN_KEY="sk-ant-admin01-toy-report-test-key",
                   ANTHROPIC_BASE_URL=server.url, WAREHOUSE_PATH=str(warehouse), USAGE_PIPELINE_START_DATE="2026-11-01",
                   USAGE_PIPELINE_REQUESTS_PER_MINUTE="0")
        help_text = subprocess.run([sys.executable, "-m", "pipelines.cli", "sync", "--help"], env=env, cwd=tmp_path,
                                   capture_output=True, text=True, check=True).stdout
        assert "toy_report" in help_text
        sync = subprocess.run(
            [sys.executable, "-m", "pipelines.cli", "sync", "--start", DAY, "--end", DAY, "--reports", "toy_report",
             "--skip-entities"],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300,
        )
        assert sync.returncode == 0, sync.stderr
        assert [request.path for request in server.requests] == ["/v1/organizations/me", "/v1/organizations/toy_report"]

    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT widget, count FROM raw.toy_report ORDER BY 1").fetchall() == [("cog", 4), ("gear", 3)]
        assert con.execute(
            "SELECT partition_date::VARCHAR, rows, tokens FROM raw.load_log WHERE table_name = 'raw.toy_report'"
        ).fetchall() == [(DAY, 2, 7)]
    with duckdb.connect(str(warehouse.with_name("serving.duckdb")), read_only=True) as con:
        assert con.execute("SELECT sum(count) FROM raw.toy_report").fetchone() == (7,)
    assert list((warehouse.parent / "parquet" / "raw" / "toy_report").glob("export_month=2026-11/*.parquet"))
