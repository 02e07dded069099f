"""What every hostile case checks of a refused command: exit 1, at most three short lines on stderr,
the last one `error: ...` saying what to do, no traceback, nothing a terminal would act on."""

from __future__ import annotations

import subprocess
from datetime import date
from pathlib import Path

ESCAPE = "\x1b"
FIRST, LAST = date(2026, 10, 29), date(2026, 11, 2)  # the range of the shared warehouse (conftest.py)


def assert_refused(result: subprocess.CompletedProcess, *needles: str) -> str:
    """The error line of a run that must fail as a user-fixable error; it contains every needle."""
    lines = result.stderr.splitlines()
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert 1 <= len(lines) <= 3, result.stderr
    assert lines[-1].startswith("error: "), result.stderr
    assert ESCAPE not in result.stderr + result.stdout
    for needle in needles:
        assert needle in lines[-1], (needle, lines[-1])
    return lines[-1]


def file_state(path: Path) -> tuple[bytes, int]:
    """A file's bytes and modification time: equal states = untouched."""
    return path.read_bytes(), path.stat().st_mtime_ns
