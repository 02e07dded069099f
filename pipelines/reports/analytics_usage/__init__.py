"""`GET /v1/organizations/analytics/usage` (beta): token and request counts per day and actor or product."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pipelines.api import AdminApiClient
from pipelines.reports.analytics_api import MAX_DAYS_PER_REQUEST, Grouping, fetch_groupings
from pipelines.reports.analytics_usage.decode import decode_analytics_usage_page
from pipelines.reports.spec import FetchedWindow, NoOptions, ReportSpec

PATH = "/v1/organizations/analytics/usage"
TABLE = "raw.analytics_usage"
GROUPINGS = (
    Grouping("actor", ("workspace_id", "api_key_id", "actor", "model", "service_tier")),
    Grouping("product", ("workspace_id", "product", "model", "context_window", "inference_geo")),
)


def fetch(client: AdminApiClient, start: datetime, end: datetime, options: NoOptions) -> FetchedWindow:
    """Daily usage of [start, end), once per grouping."""
    return fetch_groupings(client, PATH, TABLE, GROUPINGS, decode_analytics_usage_page, start, end)


REPORT = ReportSpec(
    name="analytics_usage",
    description=(
        "Token and request counts per UTC day from the Usage and Cost Analytics API, twice: by workspace, API key, "
        "actor (user, service account, federated identity or API key), model and service tier (grouping 'actor'), "
        "and by workspace, product, model, context window and inference geo (grouping 'product'). Read one "
        f"grouping at a time. Days from 2026-01-01 within the last 365 days. Source: GET {PATH} (beta)."
    ),
    tables={TABLE: "bucket_start"},
    fetch=fetch,
    days_per_request=lambda options: MAX_DAYS_PER_REQUEST,
    folder=Path(__file__).parent,
    source="analytics",
)
