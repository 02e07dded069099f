"""Load: a year of hourly usage of a large organization syncs within the memory budget.

The performance issue's budget is a peak RSS of 1 GiB for the sync process, whatever the window's
length. The sync runs as the real CLI in its own process; its peak RSS is that child's own
`ru_maxrss` (from wait4), so the simulator serving it from this process does not count.
"""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, date, datetime, timedelta

import pytest

from admin_api_simulator import Simulator
from tests.faults.helpers import cli_command, cli_env, sync_args
from tests.warehouse_helpers import scalar

pytestmark = [pytest.mark.faults, pytest.mark.slow]

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
YEAR = (date(2025, 11, 1), date(2026, 10, 31))
USAGE_ROWS_PER_HOUR = 100  # 2,400 result rows a day, ~876,000 in the year
MEMORY_BUDGET_MIB = 1024
TOKEN_COLUMNS = ("uncached_input_tokens", "cache_read_input_tokens", "output_tokens")


def run_measured(command: list[str], env: dict[str, str], log_path) -> tuple[int, float]:
    """Run a command to completion; its exit code and its own peak RSS in MiB."""
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage.ru_maxrss / 1024  # KiB on Linux


def test_a_year_of_hourly_usage_of_a_large_org_syncs_within_the_memory_budget(tmp_path, figures):
    warehouse = tmp_path / "year.duckdb"
    log_path = tmp_path / "sync.log"
    with Simulator(seed=7, now=NOW, usage_rows_per_hour=USAGE_ROWS_PER_HOUR) as simulator:
        code, peak_rss_mib = run_measured(
            cli_command(*sync_args(*YEAR, "--reports", "messages_usage,cost_report", "--skip-entities")),
            cli_env(simulator, warehouse),
            log_path,
        )
        figures.add_requests(simulator.stats)
        window = (datetime.combine(YEAR[0], datetime.min.time(), UTC),
                  datetime.combine(YEAR[1] + timedelta(days=1), datetime.min.time(), UTC))
        expected_tokens = simulator.org.expected_usage_totals(*window)
        expected_cents = simulator.org.expected_cost_cents(*YEAR)
    assert code == 0, log_path.read_text()[-3000:]

    rows = scalar(warehouse, "SELECT count(*) FROM raw.messages_usage")
    days = scalar(warehouse, "SELECT count(DISTINCT bucket_start::DATE) FROM raw.messages_usage")
    figures.rows_compared += rows
    figures.note(f"{rows} usage rows over {days} days ({rows / days:.0f} a day); sync peak RSS {peak_rss_mib:.0f} MiB")
    assert days == (YEAR[1] - YEAR[0]).days + 1
    assert rows / days >= 1000  # "thousands of rows per day"
    mismatched = [column for column in TOKEN_COLUMNS
                  if scalar(warehouse, f"SELECT sum({column}) FROM raw.messages_usage") != expected_tokens[column]]
    mismatched += ["amount_cents"] * (scalar(warehouse, "SELECT sum(amount_cents) FROM raw.cost_report") != expected_cents)
    figures.mismatches += len(mismatched)
    assert mismatched == []
    assert peak_rss_mib <= MEMORY_BUDGET_MIB
