"""Admin API client: one authenticated httpx client with retries, a request budget, typed errors and pagers."""

from pipelines.api.budget import RequestBudget
from pipelines.api.client import AdminApiClient, ApiResponse, ClientStats, RequestLimits
from pipelines.api.errors import (
    AdminApiError,
    ApiConnectionError,
    AuthenticationError,
    InvalidRequestError,
    MalformedResponseError,
    NotFoundError,
    PaginationError,
    PermissionDeniedError,
    RateLimitError,
    RedirectError,
    RequestDeadlineError,
    ResponseTooLargeError,
    ServerError,
    SpendCapError,
)
from pipelines.api.pagination import (
    JsonListPage,
    JsonReportPage,
    decode_list_envelope,
    decode_report_envelope,
    iter_list_pages,
    iter_report_pages,
)
from pipelines.api.retry import RetryPolicy

__all__ = [
    "AdminApiClient",
    "AdminApiError",
    "ApiConnectionError",
    "ApiResponse",
    "AuthenticationError",
    "ClientStats",
    "InvalidRequestError",
    "JsonListPage",
    "JsonReportPage",
    "MalformedResponseError",
    "NotFoundError",
    "PaginationError",
    "PermissionDeniedError",
    "RateLimitError",
    "RedirectError",
    "RequestBudget",
    "RequestDeadlineError",
    "RequestLimits",
    "ResponseTooLargeError",
    "RetryPolicy",
    "ServerError",
    "SpendCapError",
    "decode_list_envelope",
    "decode_report_envelope",
    "iter_list_pages",
    "iter_report_pages",
]
