"""`GET /v1/organizations/analytics/cost` (beta): billed and list cost per day and actor or product."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pipelines.api import AdminApiClient
from pipelines.reports.analytics_api import MAX_DAYS_PER_REQUEST, Grouping, fetch_groupings
from pipelines.reports.analytics_cost.decode import COST_KEYS, decode_analytics_cost_page
from pipelines.reports.spec import FetchedWindow, NoOptions, ReportSpec

PATH = "/v1/organizations/analytics/cost"
TABLE = "raw.analytics_cost"
GROUPINGS = (
    # cost_type and token_type do not count toward the 5 dimensions a query may group by
    Grouping("actor", ("workspace_id", "actor", "api_key_id", "model", "service_tier", *COST_KEYS)),
    Grouping("product", ("workspace_id", "product", "model")),
    # for chargeback: who spent (actor, key) on which product, so a product's cost center applies exactly
    Grouping("chargeback", ("workspace_id", "actor", "api_key_id", "product")),
)


def fetch(client: AdminApiClient, start: datetime, end: datetime, options: NoOptions) -> FetchedWindow:
    """Daily cost of [start, end), once per grouping."""
    return fetch_groupings(client, PATH, TABLE, GROUPINGS, decode_analytics_cost_page, start, end, COST_KEYS)


REPORT = ReportSpec(
    name="analytics_cost",
    description=(
        "Billed cost (post-discount, pre-credit) and list cost per UTC day from the Usage and Cost Analytics API, "
        "three times: by workspace, actor, API key, model, service tier, cost type and token type (grouping 'actor'), "
        "by workspace, product and model (grouping 'product'), and by workspace, actor, API key and product "
        "(grouping 'chargeback'). Read one grouping at a time. Includes Priority Tier. "
        f"Days from 2026-01-01 within the last 365 days. Source: GET {PATH} (beta)."
    ),
    tables={TABLE: "bucket_start"},
    fetch=fetch,
    days_per_request=lambda options: MAX_DAYS_PER_REQUEST,
    folder=Path(__file__).parent,
    source="analytics",
)
