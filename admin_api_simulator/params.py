"""Query-string parsing and validation, and the API error the handlers raise.

The simulator is strict where the real API is undocumented, so that client bugs show up in tests:
an unknown query parameter is a 400 (this includes array parameters without the documented
``[]`` suffix, e.g. ``group_by=model``), as is a repeated scalar parameter.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from .timeutil import parse_rfc3339

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class ApiError(Exception):
    """An error response: HTTP status, the error body's ``type`` and ``message``, extra headers, and
    the ``details.error_code`` of the endpoints that give one."""

    def __init__(
        self,
        status: int,
        error_type: str,
        message: str,
        headers: dict[str, str] | None = None,
        error_code: str | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.headers = headers or {}
        self.error_code = error_code


def invalid(message: str, error_code: str | None = None) -> ApiError:
    return ApiError(400, "invalid_request_error", message, error_code=error_code)


def not_found(message: str) -> ApiError:
    return ApiError(404, "not_found_error", message)


class Query:
    """One request's query parameters, checked against those the endpoint accepts."""

    def __init__(self, pairs: list[tuple[str, str]], accepted: Iterable[str]):
        accepted = set(accepted)
        self._pairs = pairs
        self._values: dict[str, list[str]] = {}
        for name, value in pairs:
            if name not in accepted:
                raise invalid(f"{name}: unknown query parameter")
            self._values.setdefault(name, []).append(value)

    def text(self, name: str) -> str | None:
        values = self._values.get(name, [])
        if len(values) > 1:
            raise invalid(f"{name}: expected a single value")
        return values[0] if values else None

    def required_text(self, name: str) -> str:
        value = self.text(name)
        if value is None:
            raise invalid(f"{name}: field required")
        return value

    def texts(self, name: str) -> list[str]:
        return list(self._values.get(name, []))

    def choices(self, name: str, allowed: Iterable[str]) -> list[str]:
        """A repeated enum parameter: every value must be one of ``allowed``."""
        allowed = tuple(allowed)
        values = self.texts(name)
        for value in values:
            if value not in allowed:
                raise invalid(f"{name}: input should be one of {', '.join(allowed)}; got {value!r}")
        return values

    def integer(self, name: str, default: int, minimum: int, maximum: int) -> int:
        text = self.text(name)
        if text is None:
            return default
        if not re.fullmatch(r"[+-]?\d+", text):
            raise invalid(f"{name}: input should be a valid integer")
        value = int(text)
        if value < minimum:
            raise invalid(f"{name}: input should be greater than or equal to {minimum}")
        if value > maximum:
            raise invalid(f"{name}: input should be less than or equal to {maximum}")
        return value

    def boolean(self, name: str, default: bool) -> bool:
        text = self.text(name)
        if text is None:
            return default
        if text.lower() not in ("true", "false"):
            raise invalid(f"{name}: input should be a valid boolean")
        return text.lower() == "true"

    def timestamp(self, name: str) -> datetime | None:
        text = self.text(name)
        if text is None:
            return None
        moment = parse_rfc3339(text)
        if moment is None:
            raise invalid(f"{name}: input should be an RFC 3339 date-time with a time zone; got {text!r}")
        return moment

    def day(self, name: str) -> date:
        text = self.required_text(name)
        if not _DATE.match(text):
            raise invalid(f"{name}: input should be a date in YYYY-MM-DD format; got {text!r}")
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise invalid(f"{name}: input should be a valid date; got {text!r}") from None

    def fingerprint(self, path: str) -> str:
        """A short hash of the path and every parameter but ``page``: a cursor is bound to it."""
        canonical = repr((path, sorted((k, v) for k, v in self._pairs if k != "page")))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Request:
    """What a handler needs from an HTTP request."""

    path: str
    pairs: list[tuple[str, str]]
    betas: frozenset[str]
    path_args: dict[str, str]

    def query(self, accepted: Iterable[str]) -> Query:
        return Query(self.pairs, accepted)
