"""The `usage-pipeline` console script, run as a real process against the simulator."""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from admin_api_simulator import DEMO_ADMIN_KEY
from pipelines.settings import SETTINGS
from tests.warehouse_helpers import scalar

CANARY_KEY = "sk-ant-admin01-CANARY-9f3b2c7d1e-not-a-real-key-QQQ"


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 240):
    """Run the installed console script (or its module, when not on PATH) and capture its output."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "WAREHOUSE_", "USAGE_PIPELINE_"))}
    full_env.update(env or {})
    return subprocess.run([*cli_command(), *args], env=full_env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def cli_command() -> list[str]:
    """The installed console script, or its module when it is not on PATH."""
    script = Path(sys.executable).with_name("usage-pipeline")
    return [str(script)] if script.exists() else [sys.executable, "-m", "pipelines.cli"]


def test_wrong_key_fails_fast_says_401_and_never_prints_the_key(simulator, tmp_path):
    started = time.monotonic()
    result = run_cli(
        "sync", "--start", "2026-11-01", "--end", "2026-11-02",
        env={"ANTHROPIC_ADMIN_KEY": CANARY_KEY, "ANTHROPIC_BASE_URL": simulator.base_url,
             "WAREHOUSE_PATH": str(tmp_path / "w.duckdb")},
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert elapsed < 30
    assert "401" in result.stderr and "rejected" in result.stderr.lower()
    assert "Traceback" not in result.stderr
    assert CANARY_KEY not in result.stdout + result.stderr
    assert CANARY_KEY[15:40] not in result.stdout + result.stderr
    assert simulator.stats.by_status.get(401, 0) == 1  # no retries on 401


def test_demo_fills_a_warehouse_and_prints_a_summary(tmp_path):
    warehouse = tmp_path / "demo.duckdb"
    result = run_cli("demo", "--days", "3", "--warehouse", str(warehouse), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Billed spend per workspace" in result.stdout
    assert "Default Workspace" in result.stdout  # named as the marts name it
    # the Analytics API by default: spend, API keys and list versus billed all have rows
    assert "List versus billed per model" in result.stdout and "(0 rows)" not in result.stdout
    for table in ("raw.analytics_usage", "raw.analytics_cost", "raw.claude_code_usage", "raw.users", "raw.api_keys"):
        assert scalar(warehouse, f"SELECT count(*) FROM {table}") > 0, table


def first_line_within(stream, seconds: float) -> str:
    """The first line a child process prints, waiting at most `seconds` for it."""
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        assert selector.select(timeout=seconds), f"nothing printed within {seconds} s"
    return stream.readline()


def test_simulate_serves_on_loopback_until_interrupted_with_the_refresh_lag_it_was_given():
    refused = run_cli("simulate", "--refresh-lag-hours", "nan")
    assert refused.returncode == 1 and "--refresh-lag-hours must be from 0 to 8760, got nan" in refused.stderr

    server = subprocess.Popen([*cli_command(), "simulate", "--port", "0", "--refresh-lag-hours", "30"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = first_line_within(server.stdout, 60)
        base_url = re.search(r" at (http://127\.0\.0\.1:\d+) ", banner).group(1)
        yesterday = datetime.now(UTC).date() - timedelta(days=1)
        response = httpx.get(f"{base_url}/v1/organizations/analytics/usage", timeout=30, headers={
            "x-api-key": DEMO_ADMIN_KEY, "anthropic-version": "2026-10-21",
            "anthropic-beta": "analytics-usage-cost-2026-08-24",
        }, params={"starting_at": f"{yesterday}T00:00:00Z", "ending_at": f"{yesterday + timedelta(days=1)}T00:00:00Z",
                   "time_bucket_width": "1d"})
        requested_at = datetime.now(UTC)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    assert response.status_code == 200, response.text
    lag = requested_at - datetime.fromisoformat(response.json()["data_refreshed_at"])
    assert timedelta(hours=30) <= lag < timedelta(hours=30, minutes=5), lag  # data_refreshed_at is to the minute
    assert server.returncode in (0, -signal.SIGINT), server.stderr.read()


def test_help_lists_commands_and_settings():
    result = run_cli("--help")
    assert result.returncode == 0
    for word in ("demo", "sync", "simulate", *(setting.env for setting in SETTINGS.values())):
        assert word in result.stdout


def test_report_and_chargeback_refuse_an_output_over_the_warehouse_or_in_a_missing_folder(tmp_path):
    """Both check --output the same way, before any work: one error line, nothing written."""
    warehouse = tmp_path / "w.duckdb"
    warehouse.write_bytes(b"the warehouse")
    outputs = {str(warehouse): f"--output {warehouse} is the same file as WAREHOUSE_PATH",
               "nodir/x.csv": "--output nodir/x.csv: the folder nodir does not exist"}
    for command in (["report"], ["chargeback", "--month", "2026-11"]):
        for output, message in outputs.items():
            result = run_cli(*command, "--output", output, env={"WAREHOUSE_PATH": str(warehouse)}, cwd=tmp_path)
            assert result.returncode == 1, (command, output)
            [line] = result.stderr.splitlines()
            assert line.startswith(f"error: {command[0]} {message}"), line
    assert warehouse.read_bytes() == b"the warehouse" and not (tmp_path / "nodir").exists()
