"""Typed Admin API errors, so callers can react to what went wrong instead of parsing messages.

Every error carries the HTTP status, the API's `error.type`, the endpoint path (never a URL) and the
request-id, because a request-id is what Anthropic support asks for first.
"""

from __future__ import annotations

import json
from collections.abc import Mapping


class AdminApiError(Exception):
    """Any failure talking to the Admin API; `str()` is one line with everything needed to report it."""

    hint = ""  # what to do about it, appended to the message by subclasses that know

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_type: str | None = None,
        request_id: str | None = None,
        endpoint: str | None = None,
        error_code: str | None = None,
    ) -> None:
        message = " ".join(message.split())  # one line, even for multi-line bodies or reasons
        if self.hint:
            message = f"{message.rstrip('.')}. {self.hint}" if message else self.hint
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_type = error_type
        self.request_id = request_id
        self.endpoint = endpoint
        self.error_code = error_code  # the API's `error.details.error_code`, where it sends one

    def __str__(self) -> str:
        where = " ".join(
            part
            for part in (
                f"HTTP {self.status}" if self.status is not None else "",
                self.error_type or "",
                f"at {self.endpoint}" if self.endpoint else "",
            )
            if part
        )
        line = f"{where}: {self.message}" if where else self.message
        return f"{line} (request-id: {self.request_id})" if self.request_id else line


class InvalidRequestError(AdminApiError):
    """400: the request itself is wrong (a parameter, an unknown beta); retrying cannot help."""


class AuthenticationError(AdminApiError):
    """401: the key was not accepted."""

    hint = (
        "The admin key was rejected: check ANTHROPIC_ADMIN_KEY. It must be an Admin API key "
        "(sk-ant-admin01-...) of this organization that has not been revoked."
    )


class PermissionDeniedError(AdminApiError):
    """403: the key is valid but may not call this endpoint."""

    hint = (
        "The key is of the wrong kind or lacks permission, e.g. a normal API key (sk-ant-api...) "
        "instead of an Admin API key (sk-ant-admin01-...)."
    )


class NotFoundError(AdminApiError):
    """404: the endpoint or the entity does not exist (e.g. a deleted workspace)."""


class RateLimitError(AdminApiError):
    """429 that was still returned after every retry the policy allowed."""


class SpendCapError(AdminApiError):
    """429 without retry-after: the monthly spend cap; retrying before it resets is pointless."""

    hint = (
        "The organization reached its monthly spend cap; requests fail until it resets at 00:00 UTC "
        "on the 1st of next month or the limit is raised in the Console. Stopping now."
    )


class ServerError(AdminApiError):
    """5xx or 529 (overloaded) that was still returned after every retry the policy allowed."""


class ApiConnectionError(AdminApiError):
    """No HTTP response at all (connect failure, timeout, dropped connection) after every retry."""


class RequestDeadlineError(ApiConnectionError):
    """The answer took longer than the request's deadline (a trickling or stalled server); not retried."""


class RedirectError(AdminApiError):
    """A 3xx: never followed, since the key would go along to the redirect's target."""


class MalformedResponseError(AdminApiError):
    """A successful status whose body is not JSON or does not have the expected shape."""


class ResponseTooLargeError(MalformedResponseError):
    """A body over the size cap: reading stopped at the cap."""


class PaginationError(AdminApiError):
    """The pages do not chain: a cursor repeats, has_more without a cursor, or too many pages."""


_ERROR_BY_STATUS: dict[int, type[AdminApiError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
}


def is_spend_cap(status: int, headers: Mapping[str, str]) -> bool:
    """The API signals the monthly spend cap as a 429 that, unlike a rate limit, has no retry-after."""
    return status == 429 and "retry-after" not in headers


def error_from_response(status: int, headers: Mapping[str, str], body: bytes, endpoint: str) -> AdminApiError:
    """Build the typed error for a non-2xx response (`headers` must be case-insensitive, e.g. httpx.Headers).

    Tolerates any body: unknown `error.type` values are kept as they are, non-JSON bodies are summarised.
    """
    error_type, message, body_request_id, error_code = _parse_error_body(body)
    if status == 429:
        error_class: type[AdminApiError] = SpendCapError if is_spend_cap(status, headers) else RateLimitError
    elif status >= 500:
        error_class = ServerError
    else:
        error_class = _ERROR_BY_STATUS.get(status, AdminApiError)
    return error_class(
        message or f"no error details in the body: {summarize_body(body)}",
        status=status,
        error_type=error_type,
        request_id=headers.get("request-id") or body_request_id,
        endpoint=endpoint,
        error_code=error_code,
    )


def summarize_body(body: bytes, limit: int = 200) -> str:
    """The start of a body as one printable line, for messages about unexpected content."""
    if not body:
        return "(empty)"
    text = " ".join(body[: limit * 4].decode("utf-8", errors="replace").split())
    return repr(text[:limit] + ("..." if len(text) > limit else ""))


def _parse_error_body(body: bytes) -> tuple[str | None, str | None, str | None, str | None]:
    """(error.type, error.message, request_id, error.details.error_code) of an error body, each None
    when absent or not a string."""
    try:
        document = json.loads(body)
    except ValueError:
        return None, None, None, None
    if not isinstance(document, dict):
        return None, None, None, None
    error = document.get("error")
    error = error if isinstance(error, dict) else {}
    details = error.get("details")
    details = details if isinstance(details, dict) else {}
    return (
        _string_or_none(error.get("type")),
        _string_or_none(error.get("message")),
        _string_or_none(document.get("request_id")),
        _string_or_none(details.get("error_code")),
    )


def _string_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
