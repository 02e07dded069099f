"""SIGKILL of the real `usage-pipeline sync` at random points, each batch followed by a normal re-run.

Kill points are drawn at random (seeded) in four ways, so every phase of a sync is hit:

- fetch: while the simulator is answering a request (every answer is slowed a little to widen the
  window), after a random number of requests;
- load: while the sync holds DuckDB's write lock on the warehouse (seen in /proc/locks), i.e. inside
  a window's or the entity snapshot's transaction or its checkpoint, at a random one of them;
- mart build: while the marts step holds the write lock, after every report window has loaded;
- random: after a random delay, whatever the sync is doing then.

After each kill the DuckDB file must open; after every batch of kills a normal run must leave the raw
tables exactly equal to a clean run's, with no duplicate row and no missing partition.
"""

from __future__ import annotations

import gc
import os
import random
import signal
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from admin_api_simulator import DEMO_ADMIN_KEY, Faults, Simulator
from pipelines.sync import SyncRange, run_sync
from tests.faults.helpers import (
    LineReader,
    cli_command,
    cli_env,
    compare,
    duplicates,
    loaded_days,
    raw_contents,
    settings_for,
    sync_args,
)

pytestmark = [pytest.mark.faults, pytest.mark.skipif(not Path("/proc/locks").exists(), reason="needs Linux /proc/locks")]

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
FIRST, LAST = date(2026, 10, 27), date(2026, 11, 9)  # 14 days: 2 usage windows, 1 cost window, 14 Claude Code days
DAYS = (LAST - FIRST).days + 1
ALL_DAYS = {FIRST + timedelta(days=n) for n in range(DAYS)}
REPORT_WINDOWS = DAYS + 1 + 2  # progress lines: Claude Code days, one cost window, two usage windows
# Each of two lanes (run in parallel) is killed at these points, in random order, in CYCLES batches,
# each batch followed by a normal re-run: 2 x 11 = 22 kills.
LANE_PHASES = ("fetch",) * 4 + ("load",) * 4 + ("mart build",) * 1 + ("random",) * 2
CYCLES = 3
SLOW_SECONDS = 0.06  # every answer is this slow during the kills: a fetch is a window wide enough to hit
POLL_SECONDS = 0.002
REPORT_LOG_TABLES = ("raw.messages_usage", "raw.cost_report", "raw.claude_code_usage")


class Watch:
    """What one sync process is doing, polled from outside: requests, DuckDB write lock, progress lines."""

    def __init__(self, process: subprocess.Popen, simulator: Simulator, warehouse: Path, report_windows: int):
        self.process = process
        self.simulator = simulator
        self.warehouse = warehouse
        self.report_windows = report_windows  # progress lines of report windows in a full sync
        self.requests_before = simulator.stats.total
        self.reader = LineReader(process)
        self.started = time.monotonic()
        self.lock_acquisitions = 0
        self.lock_acquisitions_after_reports = 0
        self._held = False

    @property
    def requests(self) -> int:
        return self.simulator.stats.total - self.requests_before

    @property
    def fetching(self) -> bool:
        return self.simulator.stats.in_flight > 0

    @property
    def windows_loaded(self) -> int:
        return sum(" rows, " in line for line in self.reader.lines)

    def write_lock_held(self) -> bool:
        """Whether the process holds DuckDB's write lock on the warehouse file right now."""
        try:
            inode = os.stat(self.warehouse).st_ino
        except FileNotFoundError:
            return False
        pid = str(self.process.pid)
        with open("/proc/locks") as locks:
            for line in locks:
                fields = line.split()
                if len(fields) >= 6 and fields[1] == "POSIX" and fields[3] == "WRITE" and fields[4] == pid:
                    if fields[5].rsplit(":", 1)[-1] == str(inode):
                        return True
        return False

    def poll(self) -> bool:
        """Update the counters; False once the process has exited."""
        held = self.write_lock_held()
        if held and not self._held:
            self.lock_acquisitions += 1
            if self.windows_loaded >= self.report_windows:
                self.lock_acquisitions_after_reports += 1
        self._held = held
        return self.process.poll() is None

    def state(self) -> str:
        if self.fetching:
            return "fetch"
        if self.write_lock_held():
            return "mart build" if self.windows_loaded >= self.report_windows else "load"
        return "other"


def start_sync(simulator: Simulator, warehouse: Path) -> subprocess.Popen:
    env = cli_env(simulator, warehouse)
    return subprocess.Popen(
        cli_command(*sync_args(FIRST, LAST)), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )


def observe_full_run(simulator: Simulator, warehouse: Path, report_windows: int) -> dict[str, float]:
    """One uninterrupted CLI sync: its duration, requests and write-lock acquisitions (before/after the reports)."""
    process = start_sync(simulator, warehouse)
    watch = Watch(process, simulator, warehouse, report_windows)
    while watch.poll():
        time.sleep(POLL_SECONDS)
    stderr = watch.reader.join()
    assert process.returncode == 0, stderr
    return {
        "seconds": time.monotonic() - watch.started,
        "requests": watch.requests,
        "report_locks": watch.lock_acquisitions - watch.lock_acquisitions_after_reports,
        "mart_locks": watch.lock_acquisitions_after_reports,
    }


def kill_once(simulator, warehouse, phase, rng, profile, report_windows) -> str | None:
    """Start a sync, SIGKILL it at a random point of `phase`; the phase it was really in, or None if it finished."""
    process = start_sync(simulator, warehouse)
    watch = Watch(process, simulator, warehouse, report_windows)
    deadline = time.monotonic() + 60
    if phase == "fetch":
        target = rng.randint(1, int(profile["requests"]))
        ready = lambda: watch.requests >= target and watch.fetching  # noqa: E731
        delay = rng.uniform(0, SLOW_SECONDS * 0.7)
    elif phase == "load":
        target = rng.randint(1, max(1, int(profile["report_locks"])))
        ready = lambda: watch.lock_acquisitions >= target and watch.write_lock_held()  # noqa: E731
        delay = rng.uniform(0, 0.004)
    elif phase == "mart build":
        ready = lambda: watch.lock_acquisitions_after_reports >= 1 and watch.write_lock_held()  # noqa: E731
        delay = rng.uniform(0, 0.02)
    else:
        at = watch.started + rng.uniform(0.3, profile["seconds"])
        ready = lambda: time.monotonic() >= at  # noqa: E731
        delay = 0.0
    try:
        while watch.poll() and not ready():
            assert time.monotonic() < deadline, "the sync never reached the kill point"
            time.sleep(POLL_SECONDS)
        time.sleep(delay)
        if process.poll() is not None:
            return None  # finished before the kill point: not a crash
        state = watch.state()
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        watch.reader.join()
    assert process.returncode == -signal.SIGKILL
    return state if phase == "random" else (phase if state == phase else f"{phase} (ended: {state})")


def assert_opens(warehouse: Path) -> None:
    """The file DuckDB left behind after the kill opens and answers (replaying its WAL)."""
    if not warehouse.exists():
        return
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute("SELECT count(*) FROM duckdb_tables()").fetchall()


@dataclass
class Lane:
    """One warehouse killed over and over, with its own simulator (so its requests are its own)."""

    name: str
    simulator: Simulator
    warehouse: Path
    rng: random.Random
    phases: tuple[str, ...] = ()
    crash_points: Counter[str] = field(default_factory=Counter)
    error: BaseException | None = None

    def kill_batch(self, phases: list[str], profile: dict[str, float], report_windows: int) -> None:
        """Kill `len(phases)` syncs, one per phase; each time the DuckDB file must still open."""
        try:
            for phase in phases:
                for _attempt in range(5):
                    state = kill_once(self.simulator, self.warehouse, phase, self.rng, profile, report_windows)
                    if state is not None:
                        break
                    self.crash_points["(finished before the kill: not counted)"] += 1
                else:
                    raise AssertionError(f"{self.name}: five syncs finished before the {phase} kill point")
                self.crash_points[state] += 1
                assert_opens(self.warehouse)
        except BaseException as exc:  # re-raised in the main thread
            self.error = exc


def test_sigkill_at_random_points_then_rerun_equals_a_clean_run(tmp_path, figures, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", DEMO_ADMIN_KEY)
    slow = Faults(rate=1.0, kinds=("slow",), slow_seconds=SLOW_SECONDS)
    with Simulator(seed=7, now=NOW) as first, Simulator(seed=7, now=NOW, faults=slow) as second:
        lanes = [
            Lane("lane A", first, tmp_path / "crashed_a.duckdb", random.Random(20261125)),
            Lane("lane B", second, tmp_path / "crashed_b.duckdb", random.Random(20261126)),
        ]
        # A clean run (in-process, lane A's simulator) while one uninterrupted CLI sync (lane B's) is
        # profiled: its duration, requests and write-lock acquisitions, to aim the kills.
        profiled: dict = {}
        profiler = threading.Thread(
            target=lambda: profiled.update(observe_full_run(second, tmp_path / "profile.duckdb", REPORT_WINDOWS))
        )
        profiler.start()
        clean = tmp_path / "clean.duckdb"
        run_sync(settings_for(first, clean), SyncRange(FIRST, LAST))
        gc.collect()  # Dagster's in-process garbage belongs to this thread
        expected = raw_contents(clean)
        assert not duplicates(expected)
        profiler.join(timeout=120)
        assert profiled, "the profiling sync did not finish"
        first.faults = slow
        figures.note(f"profile of one uninterrupted CLI sync: {profiled}")
        phases = [phase for phase in LANE_PHASES if phase != "mart build" or profiled["mart_locks"]]

        started = time.monotonic()
        batches = {}
        for lane in lanes:
            shuffled = lane.rng.sample(phases, len(phases))
            batches[lane.name] = [shuffled[i::CYCLES] for i in range(CYCLES)]
        for cycle in range(CYCLES):
            threads = [
                threading.Thread(target=lane.kill_batch, args=(batches[lane.name][cycle], profiled, REPORT_WINDOWS))
                for lane in lanes
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=300)
            for lane in lanes:
                if lane.error is not None:
                    raise lane.error
            for lane in lanes:  # the normal re-run, then the comparison with the clean run
                lane.simulator.faults = Faults()
                run_sync(settings_for(lane.simulator, lane.warehouse), SyncRange(FIRST, LAST))
                gc.collect()
                lane.simulator.faults = slow
                actual = raw_contents(lane.warehouse)
                comparison = compare(expected, actual)
                figures.rows_compared += comparison.rows_compared
                figures.mismatches += comparison.mismatches
                assert comparison.mismatches == 0, (
                    f"{lane.name}, cycle {cycle}: {comparison.differing_tables} differ from a clean run"
                )
                assert not duplicates(actual), f"{lane.name}, cycle {cycle}"
                for table in REPORT_LOG_TABLES:
                    assert loaded_days(lane.warehouse, table) == ALL_DAYS, (lane.name, cycle, table)

        crash_points: Counter[str] = Counter()
        for lane in lanes:
            figures.add_requests(lane.simulator.stats)
            crash_points.update(lane.crash_points)
        figures.crash_points = Counter({k: v for k, v in crash_points.items() if not k.startswith("(")})
        figures.note(f"{sum(figures.crash_points.values())} kills in {time.monotonic() - started:.0f} s "
                     f"(two lanes in parallel); kill points by phase: {dict(crash_points)}")
    assert sum(figures.crash_points.values()) == 2 * len(phases) >= 20
    for phase in set(phases) - {"random"}:  # every phase aimed at was really hit
        assert figures.crash_points[phase] >= 1, (phase, dict(crash_points))
