"""What a long backfill shows: a live display on a terminal, a few status lines a minute without one."""

from __future__ import annotations

import io
import logging
import os
import pty
import subprocess
import sys
import time

from admin_api_simulator import DEMO_ADMIN_KEY
from pipelines.progress import ProgressDisplay, WindowsDone
from tests.test_cli import run_cli

# Claude Code is fetched one day per request: a backfill of two months is 65 windows.
BACKFILL = ("sync", "--start", "2026-09-16", "--end", "2026-11-19", "--reports", "claude_code_usage", "--skip-entities")
WINDOWS = 65


def cli_env(simulator, tmp_path) -> dict[str, str]:
    return {"ANTHROPIC_ADMIN_KEY": DEMO_ADMIN_KEY, "ANTHROPIC_BASE_URL": simulator.base_url,
            "WAREHOUSE_PATH": str(tmp_path / "w.duckdb"), "USAGE_PIPELINE_START_DATE": "2026-01-01",
            "USAGE_PIPELINE_REQUESTS_PER_MINUTE": "0",
            "USAGE_PIPELINE_SOURCE": "legacy"}


def run_on_terminal(args: tuple[str, ...], env: dict[str, str], cwd, timeout: float = 240) -> tuple[int, str]:
    """Run the CLI with a pseudo-terminal as stdin, stdout and stderr; returns its status and output."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "WAREHOUSE_", "USAGE_PIPELINE_"))}
    controller, terminal = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "pipelines.cli", *args], env={**full_env, **env}, cwd=cwd,
                               stdin=terminal, stdout=terminal, stderr=terminal)
    os.close(terminal)
    output, deadline = bytearray(), time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the process closed the terminal
            break
        if not chunk:
            break
        output += chunk
    os.close(controller)
    return process.wait(timeout=30), output.decode()


def test_a_backfill_on_a_terminal_draws_a_live_display_and_ends_with_a_summary(simulator, tmp_path):
    status, output = run_on_terminal(BACKFILL, cli_env(simulator, tmp_path), tmp_path)
    assert status == 0, output
    assert "\x1b[F\x1b[2K" in output  # the live lines are redrawn in place
    assert f"/{WINDOWS} windows" in output and "rows/s" in output and " left" in output
    after_display = output.rsplit("\x1b[2K", 1)[1]  # the live lines erased, the summary is printed
    assert f"raw.claude_code_usage: {WINDOWS} of {WINDOWS} windows" in after_display
    assert "rows/s" not in after_display
    assert "page(s)" not in output  # per-window lines only with --verbose


def test_a_backfill_without_a_terminal_prints_a_few_lines_a_minute(simulator, tmp_path):
    started = time.monotonic()
    result = run_cli(*BACKFILL, env=cli_env(simulator, tmp_path), cwd=tmp_path)
    minutes = (time.monotonic() - started) / 60
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert "\x1b" not in result.stderr
    assert any(f"raw.claude_code_usage: {WINDOWS} of {WINDOWS} windows" in line for line in lines)
    # fixed lines: syncing, the first status, marts built, the failed fresh check (the simulator's clock stops at
    # 2026-11-20), published, the summary, done; then 4 a minute at most
    assert len(lines) <= 7 + 4 * minutes, lines


def test_verbose_adds_one_line_per_window(simulator, tmp_path):
    result = run_cli("sync", "--verbose", "--start", "2026-11-01", "--end", "2026-11-05", "--reports",
                     "claude_code_usage", "--skip-entities", env=cli_env(simulator, tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sum("page(s)" in line for line in result.stderr.splitlines()) == 5


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def windows_done(display: ProgressDisplay, report: str, done: int, total: int, rows: int) -> None:
    """What an ingest logs after a window (see `pipelines.progress.event_of`)."""
    display.handle(logging.makeLogRecord({"msg": "", "progress": WindowsDone(report, done, total, rows, "")}))


def replay(display: ProgressDisplay, clock: FakeClock, events: list[tuple[float, str, int, int, int]]) -> None:
    """(seconds, report, windows done, windows in all, rows) events, in time order."""
    for at, *event in events:
        clock.now = at
        windows_done(display, *event)


def test_a_report_finished_before_later_work_is_summarized_with_its_own_time():
    clock, stream = FakeClock(), io.StringIO()
    display = ProgressDisplay(stream, clock=clock)
    replay(display, clock, [(0, "raw.analytics_cost", 0, 1, 0), (2, "raw.analytics_cost", 1, 1, 1375),
                            (2, "raw.claude_code_usage", 0, 3, 0), (9, "raw.claude_code_usage", 3, 3, 900)])
    clock.now = 30.0  # the marts and the publication
    display.finish()
    summary = stream.getvalue().splitlines()[-2:]
    assert summary == ["raw.analytics_cost: 1 of 1 windows, 1,375 rows in 2s",
                       "raw.claude_code_usage: 3 of 3 windows, 900 rows in 7s"]


def test_the_live_line_of_a_finished_report_keeps_its_final_rate_and_reads_done():
    clock, terminal = FakeClock(), FakeTerminal()
    display = ProgressDisplay(terminal, clock=clock)
    replay(display, clock, [(0, "raw.cost_report", 0, 2, 0), (1, "raw.cost_report", 1, 2, 1000),
                            (2, "raw.cost_report", 2, 2, 4000), (2, "raw.usage_report", 0, 5, 0),
                            (8, "raw.usage_report", 1, 5, 600)])
    last_drawing = terminal.getvalue().rsplit("\x1b[2K", 1)[1].splitlines()
    assert last_drawing == ["raw.cost_report: 2/2 windows, 4,000 rows, 2,000 rows/s, done in 2s",
                            "raw.usage_report: 1/5 windows, 600 rows, 100 rows/s, 24s left"]


def test_without_a_terminal_status_lines_stay_at_most_one_per_interval():
    clock, stream = FakeClock(), io.StringIO()
    display = ProgressDisplay(stream, clock=clock)
    replay(display, clock, [(second, "raw.claude_code_usage", second, 40, 10 * second)  # a window a second
                            for second in range(41)])
    lines = stream.getvalue().splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == [
        "raw.claude_code_usage: 0/40 windows, 0 rows, 0 rows/s, starting",
        "raw.claude_code_usage: 15/40 windows, 150 rows, 10 rows/s, 25s left",
        "raw.claude_code_usage: 30/40 windows, 300 rows, 10 rows/s, 10s left",
    ]
