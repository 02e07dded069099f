"""The fault-injection suite's figures: what each test sent, broke and compared.

Every test records its figures through the `figures` fixture; the terminal summary prints them
per test and in total (requests made, faults injected by kind, crash points tried by phase, rows
compared, mismatches), so a run of `pytest -m faults` reports the numbers the issue asks for.
Set FAULTS_FIGURES_JSON=path to also write them as JSON.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field

import pytest

_RECORDS: list[FaultFigures] = []


@dataclass
class FaultFigures:
    test: str
    requests: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    crash_points: Counter[str] = field(default_factory=Counter)
    rows_compared: int = 0
    mismatches: int = 0
    notes: list[str] = field(default_factory=list)

    def add_requests(self, simulator_stats, faults: bool = True) -> None:
        """Count a simulator's requests (and injected faults) into this test's figures."""
        self.requests += simulator_stats.total
        if faults:
            self.faults.update(simulator_stats.faults_injected)

    def note(self, text: str) -> None:
        self.notes.append(text)


@pytest.fixture
def figures(request) -> FaultFigures:
    record = FaultFigures(request.node.nodeid.split("::", 1)[-1])
    yield record
    _RECORDS.append(record)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not _RECORDS:
        return
    write = terminalreporter.write_line
    terminalreporter.section("fault-injection figures")
    total = FaultFigures("TOTAL")
    for record in _RECORDS:
        total.requests += record.requests
        total.faults.update(record.faults)
        total.crash_points.update(record.crash_points)
        total.rows_compared += record.rows_compared
        total.mismatches += record.mismatches
    for record in [*_RECORDS, total]:
        write(
            f"{record.test}: requests={record.requests} faults_injected={sum(record.faults.values())}"
            + (f" {dict(sorted(record.faults.items()))}" if record.faults else "")
            + (f" crash_points={sum(record.crash_points.values())} {dict(sorted(record.crash_points.items()))}"
               if record.crash_points else "")
            + f" rows_compared={record.rows_compared} mismatches={record.mismatches}"
        )
        for text in record.notes:
            write(f"    {text}")
    if path := os.environ.get("FAULTS_FIGURES_JSON"):
        with open(path, "w") as out:
            json.dump([vars(record) for record in [*_RECORDS, total]], out, indent=2, default=dict)
