"""The report requests the pipeline sends for a day range, rebuilt from the pipeline's own constants.

The floor case and the simulator warm-up use these, so they send exactly the pipeline's requests
(same windows, same parameters), and the dlt case sends the same messages usage parameters over
the whole range in one paginated request, as a dlt user would configure it.

Runs in the project venv (it imports `pipelines`); the dlt case gets its parameters as JSON.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta

from pipelines.reports import claude_code_usage, cost_report, messages_usage
from pipelines.reports.messages_usage import MessagesUsageOptions
from pipelines.reports.windows import bucket_params, request_windows, rfc3339

API_VERSION = "2023-06-01"
BUCKET_WIDTH = "1h"

Request = tuple[str, list[tuple[str, str]]]  # (path, query pairs without `page`)


def messages_usage_params(start: datetime, end: datetime) -> list[tuple[str, str]]:
    return bucket_params(start, end, BUCKET_WIDTH, messages_usage.MAX_BUCKETS[BUCKET_WIDTH], messages_usage.GROUP_BY)


def messages_usage_requests(first_day: date, last_day: date) -> Iterator[Request]:
    """The pipeline's messages usage windows (7 days of 1h buckets each)."""
    days = messages_usage.days_per_request(MessagesUsageOptions(BUCKET_WIDTH, group_by_speed=False))
    for start, end in request_windows(first_day, last_day, days):
        yield messages_usage.PATH, messages_usage_params(start, end)


def cost_report_requests(first_day: date, last_day: date) -> Iterator[Request]:
    for start, end in request_windows(first_day, last_day, cost_report.MAX_BUCKETS):
        yield cost_report.PATH, bucket_params(start, end, "1d", cost_report.MAX_BUCKETS, cost_report.GROUP_BY)


def claude_code_requests(first_day: date, last_day: date) -> Iterator[Request]:
    day = first_day
    while day <= last_day:
        yield claude_code_usage.PATH, [("starting_at", day.isoformat()), ("limit", str(claude_code_usage.PAGE_LIMIT))]
        day += timedelta(days=1)


def dlt_messages_usage(first_day: date, last_day: date) -> dict[str, object]:
    """The dlt case's endpoint: the whole range in one request, paged by the API's cursor."""
    start = datetime(first_day.year, first_day.month, first_day.day)
    end = datetime(last_day.year, last_day.month, last_day.day) + timedelta(days=1)
    return {
        "path": messages_usage.PATH,
        "params": {
            "starting_at": rfc3339(start),
            "ending_at": rfc3339(end),
            "bucket_width": BUCKET_WIDTH,
            "limit": str(messages_usage.MAX_BUCKETS[BUCKET_WIDTH]),
            "group_by[]": list(messages_usage.GROUP_BY),
        },
    }


def dlt_requests(first_day: date, last_day: date) -> Iterator[Request]:
    """The dlt case's request as query pairs (for the warm-up)."""
    endpoint = dlt_messages_usage(first_day, last_day)
    pairs: list[tuple[str, str]] = []
    for name, value in endpoint["params"].items():  # type: ignore[union-attr]
        pairs += [(name, item) for item in value] if isinstance(value, list) else [(name, value)]
    yield str(endpoint["path"]), pairs
