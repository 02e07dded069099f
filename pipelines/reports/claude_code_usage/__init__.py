"""`GET /v1/organizations/usage_report/claude_code`: daily Claude Code analytics per user or API key."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from pipelines.api import AdminApiClient
from pipelines.normalize.pages import ClaudeCodePage
from pipelines.reports.claude_code_usage.decode import decode_claude_code_page
from pipelines.reports.spec import FetchedWindow, NoOptions, ReportSpec
from pipelines.reports.windows import fetch_window

PATH = "/v1/organizations/usage_report/claude_code"
PAGE_LIMIT = 1000


def fetch(client: AdminApiClient, start: datetime, end: datetime, options: NoOptions) -> FetchedWindow:
    """Claude Code analytics of one UTC day (the endpoint serves one day per call), every page."""
    if end - start != timedelta(days=1):
        raise ValueError(f"Claude Code is fetched one day at a time, not {start}..{end}")
    params = [("starting_at", start.date().isoformat()), ("limit", str(PAGE_LIMIT))]
    return fetch_window(client, PATH, params, decode_claude_code_page, start, end, _frames)


def _frames(page: ClaudeCodePage) -> dict[str, pl.DataFrame]:
    return {
        "raw.claude_code_usage": page.usage,
        "raw.claude_code_model_usage": page.model_usage,
        "raw.claude_code_tool_actions": page.tool_actions,
    }


REPORT = ReportSpec(
    name="claude_code_usage",
    description=(
        "Claude Code analytics per UTC day, actor (user email or API key name), terminal and remote flag, with "
        "child tables raw.claude_code_model_usage (tokens and estimated cost per model) and "
        "raw.claude_code_tool_actions (accepted/rejected per tool). Estimated cost is informational: it is "
        f"already inside the billed API cost. Source: GET {PATH}."
    ),
    tables={"raw.claude_code_usage": "date", "raw.claude_code_model_usage": "date", "raw.claude_code_tool_actions": "date"},
    fetch=fetch,
    days_per_request=lambda options: 1,
    folder=Path(__file__).parent,
    job="ingest_claude_code",
)
