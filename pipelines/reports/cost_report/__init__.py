"""`GET /v1/organizations/cost_report`: billed USD per UTC day, workspace and line item."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pipelines.api import AdminApiClient
from pipelines.reports.cost_report.decode import decode_cost_report_page
from pipelines.reports.spec import FetchedWindow, NoOptions, ReportSpec
from pipelines.reports.windows import bucket_params, fetch_window, rows_of

PATH = "/v1/organizations/cost_report"
TABLE = "raw.cost_report"
MAX_BUCKETS = 31  # daily buckets in the largest page
GROUP_BY = ("workspace_id", "description")  # the description fills model, token type, tier...


def fetch(client: AdminApiClient, start: datetime, end: datetime, options: NoOptions) -> FetchedWindow:
    """Daily cost of [start, end) grouped by workspace and description."""
    params = bucket_params(start, end, "1d", MAX_BUCKETS, GROUP_BY)
    return fetch_window(client, PATH, params, decode_cost_report_page, start, end, rows_of(TABLE))


REPORT = ReportSpec(
    name="cost_report",
    description=(
        "Billed cost in USD per UTC day, grouped by workspace and line-item description (which fills model, "
        "token type, service tier, context window and inference geo for token costs). amount_cents is the API's "
        f"exact decimal string. Priority-tier usage is not billed here. Source: GET {PATH}."
    ),
    tables={TABLE: "bucket_start"},
    fetch=fetch,
    days_per_request=lambda options: MAX_BUCKETS,
    folder=Path(__file__).parent,
    source="legacy",
    replaced_by="analytics_cost",
)
