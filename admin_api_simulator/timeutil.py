"""UTC time helpers shared by the simulator's layers.

Usage records are keyed by integer epoch hours and minutes, which makes bucketing plain integer
arithmetic; these helpers convert between those integers, dates and RFC 3339 strings.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MINUTES_PER_HOUR = 60
HOURS_PER_DAY = 24

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def rfc3339(moment: datetime) -> str:
    """Format an aware datetime the way the API does: "2026-08-01T00:00:00Z"."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text: str) -> datetime | None:
    """An aware UTC datetime, or None if the text is not RFC 3339 with an explicit offset."""
    if not _RFC3339.match(text):
        return None
    try:
        return datetime.fromisoformat(text.upper().replace(" ", "T")).astimezone(UTC)
    except ValueError:
        return None


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def epoch_minutes(moment: datetime) -> int:
    """Whole minutes since the epoch, rounded down."""
    return int((moment - EPOCH) // timedelta(minutes=1))


def from_epoch_minutes(minutes: int) -> datetime:
    return EPOCH + timedelta(minutes=minutes)


def epoch_hour_of_day(day: date) -> int:
    """The epoch hour at which a UTC day starts."""
    return (day - EPOCH.date()).days * HOURS_PER_DAY


def days_between(start: datetime, end: datetime) -> list[date]:
    """Every UTC day that [start, end) touches, in order."""
    if end <= start:
        return []
    last = (end - timedelta(microseconds=1)).date()
    return [start.date() + timedelta(days=i) for i in range((last - start.date()).days + 1)]
