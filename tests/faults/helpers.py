"""Driving the real `usage-pipeline` command against the simulator, and comparing warehouses."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from admin_api_simulator import DEMO_ADMIN_KEY, Simulator
from pipelines.settings import Settings
from tests.warehouse_helpers import ENTITY_TABLES, REPORT_TABLES, table_contents

RAW_TABLES = REPORT_TABLES + ENTITY_TABLES
START_DATE = "2025-01-01"  # the first partition; every test range lies after it
_OWN_PREFIXES = ("ANTHROPIC_", "WAREHOUSE_", "USAGE_PIPELINE_", "DAGSTER_HOME")


def cli_command(*args: str) -> list[str]:
    """The installed console script, or its module when the script is not beside this interpreter."""
    script = Path(sys.executable).with_name("usage-pipeline")
    return ([str(script)] if script.exists() else [sys.executable, "-m", "pipelines.cli"]) + list(args)


def cli_env(simulator: Simulator | None, warehouse: Path, key: str = DEMO_ADMIN_KEY, **extra: str) -> dict[str, str]:
    """A clean environment for one CLI run: nothing inherited that configures the pipeline."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(_OWN_PREFIXES)}
    env |= {
        "ANTHROPIC_ADMIN_KEY": key,
        "WAREHOUSE_PATH": str(warehouse),
        "USAGE_PIPELINE_START_DATE": START_DATE,
        "USAGE_PIPELINE_REQUESTS_PER_MINUTE": "0",  # the simulator has no rate limit to respect
        "USAGE_PIPELINE_SOURCE": "legacy",  # the fault suite targets the legacy reports' pages
    }
    if simulator is not None:
        env["ANTHROPIC_BASE_URL"] = simulator.base_url
    return env | extra


def run_cli(*args: str, env: dict[str, str], timeout: float = 180, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cli_command(*args), env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def sync_args(first, last, *more: str) -> tuple[str, ...]:
    return ("sync", "--start", str(first), "--end", str(last), *more)


def settings_for(simulator: Simulator, warehouse: Path) -> Settings:
    """The settings an in-process run (run_sync, Dagster) uses for the same warehouse."""
    return Settings.from_mapping(
        {"base_url": simulator.base_url, "warehouse_path": str(warehouse), "start_date": START_DATE,
         "requests_per_minute": 0, "source": "legacy"}
    )


class LineReader:
    """Collects a child's stderr lines on a thread, so the test can poll them without blocking."""

    def __init__(self, process: subprocess.Popen):
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(process.stderr,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.append(line)

    def join(self, timeout: float = 10) -> str:
        self._thread.join(timeout)
        return "".join(self.lines)


@dataclass
class Comparison:
    """How two warehouses compare, table by table: rows compared and rows that differ."""

    rows_compared: int = 0
    mismatches: int = 0
    differing_tables: list[str] = field(default_factory=list)

    def __iadd__(self, other: Comparison) -> Comparison:
        self.rows_compared += other.rows_compared
        self.mismatches += other.mismatches
        self.differing_tables += other.differing_tables
        return self


def compare(expected: dict[str, list[tuple]], actual: dict[str, list[tuple]]) -> Comparison:
    """Rows in one and not the other (as multisets, so a duplicate counts), over every table."""
    result = Comparison()
    for table in sorted(expected.keys() | actual.keys()):
        want, got = Counter(expected.get(table, [])), Counter(actual.get(table, []))
        different = sum(((want - got) + (got - want)).values())
        result.rows_compared += max(sum(want.values()), sum(got.values()))
        result.mismatches += different
        if different:
            result.differing_tables.append(table)
    return result


def raw_contents(path: Path) -> dict[str, list[tuple]]:
    return table_contents(path, RAW_TABLES)


def duplicates(contents: dict[str, list[tuple]]) -> dict[str, int]:
    """Tables holding the same row (load times aside) more than once, with the surplus count."""
    found = {}
    for table, rows in contents.items():
        surplus = sum(count - 1 for count in Counter(rows).values() if count > 1)
        if surplus:
            found[table] = surplus
    return found


def loaded_days(path: Path, table: str) -> set:
    """The partitions of a report table that have a load-log row."""
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute("SELECT DISTINCT partition_date FROM raw.load_log WHERE table_name = ?", [table]).fetchall()
    return {day for (day,) in rows}


def files_containing(root: Path, needles: list[bytes]) -> dict[str, list[str]]:
    """Every file under `root` whose bytes contain one of `needles` (file -> the needles found)."""
    found: dict[str, list[str]] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            hits = [needle.decode(errors="replace") for needle in needles if needle in data]
            if hits:
                found[str(path)] = hits
    return found
