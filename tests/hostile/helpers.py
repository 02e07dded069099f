"""What every hostile case checks of a refused command: exit 1, at most three short lines on stderr,
the last one `error: ...` saying what to do, no traceback, nothing a terminal would act on."""

from __future__ import annotations

import subprocess
from datetime import date
from pathlib import Path

from admin_api_simulator import Simulator
from tests.faults.helpers import cli_env

ESCAPE = "\x1b"
FIRST, LAST = date(2026, 10, 29), date(2026, 11, 2)  # the range of the shared warehouse (conftest.py)
# The suite feeds the legacy reports (raw.messages_usage, raw.cost_report), whatever days the
# Analytics API would serve: their pages are the ones the scripted servers imitate.
SOURCE = "legacy"


def hostile_env(simulator: Simulator | None, warehouse: Path, **extra: str) -> dict[str, str]:
    """The fault suite's clean CLI environment, on the legacy reports."""
    return cli_env(simulator, warehouse, USAGE_PIPELINE_SOURCE=SOURCE) | extra


def assert_refused(result: subprocess.CompletedProcess, *needles: str, ran: bool = False) -> str:
    """The error line of a run that must fail as a user-fixable error; it contains every needle.

    `ran`: the run got as far as loading, so its progress lines may come first; the error lines
    still come last, at most three. Otherwise stderr holds at most three lines in all.
    """
    lines = result.stderr.splitlines()
    errors = 0  # the error lines at the end
    while errors < len(lines) and lines[-1 - errors].startswith("error: "):
        errors += 1
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert 1 <= errors <= 3, result.stderr
    assert ran or len(lines) <= 3, result.stderr
    assert ESCAPE not in result.stderr + result.stdout
    for needle in needles:
        assert needle in lines[-1], (needle, lines[-1])
    return lines[-1]


def file_state(path: Path) -> tuple[bytes, int]:
    """A file's bytes and modification time: equal states = untouched."""
    return path.read_bytes(), path.stat().st_mtime_ns
