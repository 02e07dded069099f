"""`GET /v1/organizations/usage_report/messages`: token usage per time bucket and every dimension."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path

from pipelines.api import AdminApiClient
from pipelines.reports.messages_usage.decode import decode_messages_usage_page
from pipelines.reports.spec import FetchedWindow, ReportSpec
from pipelines.reports.windows import bucket_params, fetch_window, rows_of
from pipelines.settings import Settings

PATH = "/v1/organizations/usage_report/messages"
FAST_MODE_BETA = "fast-mode-2026-02-01"  # lets the report group by speed
TABLE = "raw.messages_usage"
# Largest page (in buckets) per bucket width, and buckets in a day.
MAX_BUCKETS = {"1m": 1440, "1h": 168, "1d": 31}
BUCKETS_PER_DAY = {"1m": 1440, "1h": 24, "1d": 1}
# Every dimension the report can group by (speed only behind its beta header).
GROUP_BY = (
    "workspace_id",
    "api_key_id",
    "account_id",
    "service_account_id",
    "model",
    "service_tier",
    "context_window",
    "inference_geo",
)


@dataclass(frozen=True)
class MessagesUsageOptions:
    bucket_width: str
    group_by_speed: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> MessagesUsageOptions:
        return cls(settings.bucket_width, settings.group_by_speed)


def days_per_request(options: MessagesUsageOptions) -> int:
    """Whole days in the largest page of this bucket width (7 for 1h, 31 for 1d, 1 for 1m)."""
    return MAX_BUCKETS[options.bucket_width] // BUCKETS_PER_DAY[options.bucket_width]


def fetch(client: AdminApiClient, start: datetime, end: datetime, options: MessagesUsageOptions) -> FetchedWindow:
    """Messages usage of [start, end) grouped by every dimension, in the largest pages allowed."""
    group_by = GROUP_BY + (("speed",) if options.group_by_speed else ())
    params = bucket_params(start, end, options.bucket_width, MAX_BUCKETS[options.bucket_width], group_by)
    decode = partial(decode_messages_usage_page, bucket_width=options.bucket_width)
    beta = (FAST_MODE_BETA,) if options.group_by_speed else ()
    return fetch_window(client, PATH, params, decode, start, end, rows_of(TABLE), beta=beta)


REPORT = ReportSpec(
    name="messages_usage",
    description=(
        "Token usage of the Messages API per time bucket (default 1h), grouped by every dimension the API "
        "offers: workspace, API key, account, service account, model, service tier, context window and "
        f"inference geo. workspace_id NULL is the default workspace. Source: GET {PATH}."
    ),
    tables={TABLE: "bucket_start"},
    fetch=fetch,
    days_per_request=days_per_request,
    options=MessagesUsageOptions.from_settings,
    folder=Path(__file__).parent,
    source="legacy",
    replaced_by="analytics_usage",
)
