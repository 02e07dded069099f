"""The page contract: what a decoder returns, what it raises, and how a body is read.

Every decoder takes the raw body of ONE response and returns the rows together with the
envelope values the pager needs, so the two always come from the same parse.
"""

from __future__ import annotations

import json
import reprlib
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import polars as pl

from pipelines.terminal import first_line

if TYPE_CHECKING:  # drift.py writes JSON text with this module's helper
    from pipelines.normalize.drift import SchemaDrift


class MalformedPage(ValueError):
    """The body is not a well-formed page of its endpoint; the message says what is wrong.

    The caller adds the endpoint, partition and request-id.
    """


@dataclass(frozen=True)
class ReportPage:
    """One page of a bucketed report (messages usage, cost). Continue with `next_page`."""

    rows: pl.DataFrame
    has_more: bool
    next_page: str | None
    drift: SchemaDrift


@dataclass(frozen=True)
class ClaudeCodePage:
    """One page of the Claude Code report: three frames joined by `record_key`."""

    usage: pl.DataFrame
    model_usage: pl.DataFrame
    tool_actions: pl.DataFrame
    has_more: bool
    next_page: str | None
    drift: SchemaDrift


@dataclass(frozen=True)
class ListPage:
    """One page of an entity list (users, workspaces, ...). Continue with `after_id=last_id`."""

    rows: pl.DataFrame
    has_more: bool
    first_id: str | None
    last_id: str | None
    drift: SchemaDrift


def preview(body: bytes) -> str:
    """The start of a body for error messages (shows an HTML error page or a truncation)."""
    return repr(body[:80]) + ("..." if len(body) > 80 else "")


def read_json(body: bytes, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Parse a page into a one-row frame with a fixed nested schema (the fast path)."""
    try:
        frame = pl.read_json(body, schema=schema)
    except pl.exceptions.PolarsError as error:
        raise MalformedPage(f"not a JSON page: {first_line(error)}; body starts {preview(body)}") from error
    if frame.height != 1:
        raise MalformedPage(f"expected one JSON object, got {frame.height} rows; body starts {preview(body)}")
    return frame


def parse_json(body: bytes) -> Any:
    """Parse a body into Python objects; JSON decimals become `Decimal`, so money stays exact."""
    try:
        return json.loads(body, parse_float=Decimal)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise MalformedPage(f"not a JSON page: {error}; body starts {preview(body)}") from error


def json_text(value: Any) -> str:
    """Canonical JSON text for JSON columns; decimals from `parse_json` go back as numbers."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=float)


def as_object(value: Any, where: str) -> dict[str, Any]:
    """A value that must be a JSON object."""
    if not isinstance(value, dict):
        raise MalformedPage(f"{where} must be an object, got {reprlib.repr(value)}")
    return value


def object_field(parent: dict[str, Any], key: str, where: str, *, optional: bool = False) -> dict[str, Any]:
    """A JSON object field; an optional one that is absent or null reads as empty."""
    value = parent.get(key)
    if value is None and optional:
        return {}
    return as_object(value, f"{where}: {key}")


def list_field(parent: dict[str, Any], key: str, where: str, *, optional: bool = False) -> list[Any]:
    """A JSON array; an optional one that is absent or null reads as empty."""
    value = parent.get(key)
    if value is None and optional:
        return []
    if not isinstance(value, list):
        raise MalformedPage(f"{where}: {key} must be an array, got {reprlib.repr(value)}")
    return value


def has_more_value(value: Any) -> bool:
    """`has_more` is required and must be a real boolean: the pager loops on it."""
    if not isinstance(value, bool):
        raise MalformedPage(f"has_more must be true or false, got {reprlib.repr(value)}")
    return value


def optional_string(parent: dict[str, Any], key: str, where: str) -> str | None:
    """An optional string (cursor ids, `next_page`, nullable dimensions)."""
    value = parent.get(key)
    if value is not None and not isinstance(value, str):
        raise MalformedPage(f"{where}: {key} must be a string or null, got {reprlib.repr(value)}")
    return value


def count_field(parent: dict[str, Any], key: str, where: str) -> int:
    """A required non-negative BIGINT measure; `1.5`, `"3"`, `true` and null are malformed."""
    value = parent.get(key)
    if type(value) is not int or not 0 <= value < 2**63:
        raise MalformedPage(f"{where}: {key} must be a non-negative 64-bit integer, got {reprlib.repr(value)}")
    return value
