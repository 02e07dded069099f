"""The benchmark's Admin API server: the project's simulator, in its own process, with a pinned clock
and (by default) a response cache.

Generating a week page of 200 rows per hour costs the simulator about 0.7 s of CPU, as much as the
client spends on it. The benchmark measures the client, so after one warm-up pass every response
is served from memory: each case then pays only for the transfer, as against a fast real API.
`--no-cache` serves every request live (slower, and the simulator's work is in every case's time).

    python benchmarks/simserver.py --rows-per-hour 200 --now 2026-11-25T12:00:00Z [--no-cache]

Prints one JSON line {"base_url": ..., "admin_key": ...} once it accepts connections, then serves
until SIGINT or SIGTERM. `GET /__bench/stats` answers {"hits", "misses", "requests", "cached_mib"}.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from admin_api_simulator import DEMO_ADMIN_KEY, Simulator
from admin_api_simulator import server as simulator_server

STATS_PATH = "/__bench/stats"


class CachingSimulator(Simulator):
    """The simulator, answering a repeated request (same path, parameters in any order, key and
    beta header) with the bytes of its first 200 answer."""

    def __init__(self, *args, cache: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.cache_enabled = cache
        self._cache: dict[tuple, object] = {}
        self._cache_lock = threading.Lock()
        self.hits = self.misses = self.cached_bytes = 0

    def _handle(self, method, target, headers):  # the simulator's one-request entry point
        path, _, query = target.partition("?")
        if path == STATS_PATH:
            return self._stats_response()
        if not self.cache_enabled:
            with self._cache_lock:
                self.misses += 1
            return super()._handle(method, target, headers)
        key = (
            method,
            path,
            tuple(sorted(parse_qsl(query, keep_blank_values=True))),
            headers.get("x-api-key"),
            headers.get("anthropic-version"),
            headers.get("anthropic-beta"),
        )
        with self._cache_lock:
            cached = self._cache.get(key)
            if cached is not None:
                self.hits += 1
                return cached
            self.misses += 1
        response = super()._handle(method, target, headers)
        if response is not None and response.status == 200:
            with self._cache_lock:
                self._cache[key] = response
                self.cached_bytes += len(response.body)
        return response

    def _stats_response(self):
        with self._cache_lock:
            stats = {
                "hits": self.hits,
                "misses": self.misses,
                "requests": self.hits + self.misses,
                "cached_mib": round(self.cached_bytes / 2**20, 1),
            }
        return simulator_server._Response(200, json.dumps(stats).encode())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default 0: any free port)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rows-per-hour", type=int, default=200)
    parser.add_argument("--now", required=True, help="the simulator's pinned clock, e.g. 2026-11-25T12:00:00Z")
    parser.add_argument("--no-cache", action="store_true", help="serve every request live")
    args = parser.parse_args(argv)

    now = datetime.fromisoformat(args.now.replace("Z", "+00:00")).astimezone(UTC)
    simulator = CachingSimulator(
        seed=args.seed, port=args.port, now=now, usage_rows_per_hour=args.rows_per_hour, cache=not args.no_cache
    )
    simulator.start()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    print(json.dumps({"base_url": simulator.base_url, "admin_key": DEMO_ADMIN_KEY}), flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        simulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
