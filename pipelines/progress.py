"""Progress of a sync: the events an ingest reports, and how the CLI shows them.

An ingest reports plain notices (a warning, a skipped window: always shown) and `WindowsDone`
counts after every request window. On a terminal the CLI redraws one live line per report
(windows done of total, rows, rate, time left, or "done" once its last window is); without one it
prints a status line every STATUS_EVERY_SECONDS at most, so a year's backfill logs a few lines a
minute, not one per day.
Per-window lines only with `sync --verbose`. Every report gets one summary line at the end.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO

STATUS_EVERY_SECONDS = 15.0
REDRAW_EVERY_SECONDS = 0.1


@dataclass(frozen=True)
class WindowsDone:
    """A report's request windows done so far, of those planned, after one more window."""

    report: str
    done: int
    total: int
    rows: int
    line: str  # what the last window did, e.g. 'raw.cost_report 2026-11-01..2026-11-07: 812 rows, 1 page(s)'


Progress = Callable[[str | WindowsDone], None]


def no_progress(event: str | WindowsDone) -> None:
    """The default callback of a caller that shows nothing."""


def event_of(record: logging.LogRecord) -> WindowsDone | None:
    """The counts a log record carries (logged with extra={"progress": event}), if any."""
    event = getattr(record, "progress", None)
    return event if isinstance(event, WindowsDone) else None


@dataclass
class _ReportState:
    started: float
    latest: WindowsDone
    latest_at: float

    def elapsed(self, now: float) -> float:
        """Seconds since the report's first event; its clock stops when its last window is done,
        so the marts and other reports' windows after it do not slow its rate or lengthen its time."""
        finished = self.latest.done == self.latest.total
        return max((self.latest_at if finished else now) - self.started, 1e-9)

    def status(self, now: float) -> str:
        event, elapsed = self.latest, self.elapsed(now)
        if event.done == event.total:
            state = f"done in {_duration(elapsed)}"
        elif event.done:
            state = f"{_duration(elapsed / event.done * (event.total - event.done))} left"
        else:
            state = "starting"
        return (f"{event.report}: {event.done}/{event.total} windows, {event.rows:,} rows, "
                f"{event.rows / elapsed:,.0f} rows/s, {state}")

    def summary(self, now: float) -> str:
        event = self.latest
        return (f"{event.report}: {event.done} of {event.total} windows, {event.rows:,} rows "
                f"in {_duration(self.elapsed(now))}")


class ProgressDisplay(logging.Handler):
    """A logging handler for the `pipelines` loggers that draws the sync's progress on `stream`."""

    def __init__(self, stream: TextIO | None = None, *, verbose: bool = False,
                 clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.stream = stream or sys.stderr
        self.verbose = verbose
        self.clock = clock
        self.live = self.stream.isatty()
        self.setFormatter(logging.Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S"))
        self._reports: dict[str, _ReportState] = {}
        self._drawn_lines = 0
        self._drawn_at = float("-inf")
        self._status_at = float("-inf")

    def emit(self, record: logging.LogRecord) -> None:
        now = self.clock()
        event = event_of(record)
        if event is None:
            self._print(self.format(record))
            return
        state = self._reports.setdefault(event.report, _ReportState(now, event, now))
        state.latest, state.latest_at = event, now
        if self.verbose:
            self._print(f"{datetime.now():%H:%M:%S} {event.line}")
        if self.live and now - self._drawn_at >= REDRAW_EVERY_SECONDS:
            self._redraw(now)
        elif not self.live and now - self._status_at >= STATUS_EVERY_SECONDS:
            self._status_at = now
            self._print(f"{datetime.now():%H:%M:%S} {state.status(now)}")

    def finish(self) -> None:
        """Replace the live display by one summary line per report."""
        now = self.clock()
        self._clear()
        for state in self._reports.values():
            self.stream.write(state.summary(now) + "\n")
        self._reports.clear()
        self.stream.flush()

    def _print(self, line: str) -> None:
        """A line above the live display, which is then drawn again below it."""
        self._clear()
        self.stream.write(line + "\n")
        if self.live:
            self._redraw(self.clock())
        self.stream.flush()

    def _redraw(self, now: float) -> None:
        self._clear()
        for state in self._reports.values():
            self.stream.write(state.status(now) + "\n")
        self._drawn_lines, self._drawn_at = len(self._reports), now
        self.stream.flush()

    def _clear(self) -> None:
        """Erase the live lines (cursor up one line and clear it, per line)."""
        self.stream.write("\x1b[F\x1b[2K" * self._drawn_lines)
        self._drawn_lines = 0


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"
