"""`usage-pipeline report` renders in headless Chromium with every chart drawn and no console errors."""

from __future__ import annotations

from pathlib import Path

import pytest

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
    result = run_cli("report", "--output", str(report), env={"WAREHOUSE_PATH": "data/demo.duckdb"}, cwd=tmp_path)
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
    assert set(drawn) == EXPECTED_CHARTS
    assert all(marks > 0 for marks in drawn.values()), drawn
    assert errors == []
