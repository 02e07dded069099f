"""A client-side request budget, so a long backfill stays within the rate the Admin API asks for.

The usage and cost endpoints support about one request per minute sustained, with short bursts
(walking through pages). A token bucket expresses exactly that: `burst` requests back to back, then
one every 60 / requests_per_minute seconds.
"""

from __future__ import annotations

import threading
import time


class RequestBudget:
    """Token bucket shared by every request (and thread) that should count against one rate."""

    def __init__(self, requests_per_minute: float, burst: int) -> None:
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.requests_per_minute = requests_per_minute  # <= 0 means unlimited
        self.burst = burst
        self._tokens = float(burst)
        self._refilled_at = time.monotonic()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RequestBudget(requests_per_minute={self.requests_per_minute}, burst={self.burst})"

    def acquire(self) -> float:
        """Block until one request may be sent; return the seconds spent waiting.

        The token is reserved under the lock (the bucket may go negative) and the wait happens outside
        it, so concurrent callers queue up in order without holding each other up while sleeping.
        """
        if self.requests_per_minute <= 0:
            return 0.0
        tokens_per_second = self.requests_per_minute / 60.0
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._refilled_at) * tokens_per_second)
            self._refilled_at = now
            self._tokens -= 1
            wait = max(0.0, -self._tokens / tokens_per_second)
        if wait:
            time.sleep(wait)
        return wait
