"""`usage-pipeline report` renders in headless Chromium with every chart drawn and no console errors;
names from the API reach the page as text."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines import report
from tests.chromium import CHROMIUM, Page
from tests.test_cli import run_cli

OUTPUT_DIR = Path(__file__).resolve().parents[1] / "test-output"
EXPECTED_CHARTS = {
    "Daily spend by workspace",
    "Month to date against last month",
    "Top users this month",
    "Top API keys this month",
    "Model mix this month",
    "Cache hit ratio",
    "Claude Code adoption",
    "Claude Code cost per developer this month",
}
ANALYTICS_CHARTS = {"Product mix this month", "List versus billed"}  # drawn when days came from the Analytics API
DRAWN_MARKS = """[...document.querySelectorAll("figure")].map(figure => [
    figure.querySelector("h2").textContent,
    [...figure.querySelectorAll("svg.chart .mark")].filter(mark => {
        const box = mark.getBoundingClientRect();
        return box.width > 0 && box.height > 0;
    }).length])"""


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (Debian package `chromium`)")
def test_report_renders_every_chart_offline(tmp_path):
    assert run_cli("demo", "--days", "20", cwd=tmp_path).returncode == 0
    report = tmp_path / "spend.html"
    demo_serving = {"USAGE_PIPELINE_SERVING_PATH": "data/demo-serving.duckdb"}
    result = run_cli("report", "--output", str(report), env=demo_serving, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    html = report.read_text()
    assert "http://" not in html and "https://" not in html  # self-contained: nothing to fetch

    page = Page(report.as_uri())
    try:
        drawn = dict(page.evaluate(DRAWN_MARKS))
        OUTPUT_DIR.mkdir(exist_ok=True)
        page.screenshot(OUTPUT_DIR / "spend-report.png")
        errors = page.errors
    finally:
        page.close()
    with duckdb.connect(str(tmp_path / "data" / "demo.duckdb"), read_only=True) as con:
        analytics_days = con.execute("SELECT count(*) FROM marts.actor_daily_cost").fetchone()[0] > 0
    assert set(drawn) == EXPECTED_CHARTS | (ANALYTICS_CHARTS if analytics_days else set())
    assert all(marks > 0 for marks in drawn.values()), drawn
    assert errors == []


def test_names_from_the_api_reach_the_page_as_text():
    name = '<script>alert(1)</script> & "x"'
    figure = report.Figure("Top users this month", "caption", report.horizontal_bars([(name, 1.0)], money=True))
    html = report._page(date(2026, 1, 5), (1.0, 2.0, 31), [figure])
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;x&#34;</text>" in html
