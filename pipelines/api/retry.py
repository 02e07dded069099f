"""The one retry policy every Admin API request goes through: what to retry, how long to wait, when to stop.

Transient failures (429 with retry-after, 500/502/503/504/529, no response at all) are retried with
exponential backoff and jitter, honouring retry-after. Everything else is final on the first answer:
other 4xx cannot succeed on a retry, a 429 without retry-after is the monthly spend cap, a 3xx is a
redirect that is not followed, and a TLS failure (an untrusted certificate, a server that does not
speak TLS) fails the same way every time.
Both the number of attempts and the total time are bounded; a wait that would end past the deadline
is not started.
"""

from __future__ import annotations

import math
import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from pipelines.api.errors import is_spend_cap

RETRYABLE_STATUSES = frozenset({500, 502, 503, 504, 529})

# What one attempt produced: a response (any status) or the transport error that prevented one.
Outcome = httpx.Response | httpx.TransportError


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds and backoff of the retry loop; `sleep` and `clock` are injectable so tests can watch waits."""

    max_attempts: int = 6
    max_elapsed_seconds: float = 300.0
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    jitter: float = 0.5  # fraction of each backoff that is random: the wait is in [(1 - jitter) * b, b]
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.max_elapsed_seconds <= 0 or self.backoff_base < 0 or self.backoff_max < 0:
            raise ValueError("max_elapsed_seconds must be positive, backoff_base and backoff_max not negative")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be between 0 and 1")

    def run(
        self, send: Callable[[], httpx.Response], on_retry: Callable[[Outcome, int, float], None]
    ) -> httpx.Response:
        """Call `send` until its outcome is final and return that response, whatever its status.

        A transport error that is still failing when attempts or time run out is re-raised.
        `on_retry(outcome, attempt, wait)` is called before each wait, for logging and counting.
        """
        deadline = self.clock() + self.max_elapsed_seconds
        attempt = 1
        while True:
            outcome: Outcome
            try:
                outcome = send()
            except httpx.TransportError as exc:
                outcome = exc
            wait = self._wait_before_retry(outcome, attempt)
            if wait is None or attempt >= self.max_attempts or self.clock() + wait > deadline:
                if isinstance(outcome, httpx.TransportError):
                    raise outcome
                return outcome
            on_retry(outcome, attempt, wait)
            self.sleep(wait)
            attempt += 1

    def _wait_before_retry(self, outcome: Outcome, attempt: int) -> float | None:
        """Seconds to wait before the next attempt, or None when this outcome must not be retried."""
        if isinstance(outcome, httpx.TransportError):
            return None if tls_failure(outcome) else self._backoff(attempt)
        status = outcome.status_code
        if status == 429 and not is_spend_cap(status, outcome.headers):
            retry_after = parse_retry_after(outcome.headers["retry-after"], datetime.now(UTC))
            return self._backoff(attempt) if retry_after is None else retry_after
        if status in RETRYABLE_STATUSES:
            return self._backoff(attempt)
        return None

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** min(attempt - 1, 32))  # capped: no float overflow
        return ceiling * (1 - self.jitter * random.random())


def parse_retry_after(value: str, now: datetime) -> float | None:
    """Seconds to wait from a retry-after header (delay-seconds or an HTTP-date); None if unreadable."""
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - now).total_seconds()
        except (TypeError, ValueError):
            return None
        return max(0.0, seconds)  # a date in the past means "now"
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def tls_failure(error: BaseException) -> ssl.SSLError | None:
    """The TLS error behind a transport error (httpx wraps it), or None."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None
