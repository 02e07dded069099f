"""The `usage-pipeline` console script, run as a real process against the simulator."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from pipelines.settings import SETTINGS
from tests.warehouse_helpers import scalar

CANARY_KEY = "sk-ant-admin01-CANARY-9f3b2c7d1e-not-a-real-key-QQQ"


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 240):
    """Run the installed console script (or its module, when not on PATH) and capture its output."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "WAREHOUSE_", "USAGE_PIPELINE_"))}
    full_env.update(env or {})
    script = Path(sys.executable).with_name("usage-pipeline")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "pipelines.cli"]
    return subprocess.run(command + list(args), env=full_env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


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
    for table in ("raw.messages_usage", "raw.cost_report", "raw.claude_code_usage", "raw.users", "raw.api_keys"):
        assert scalar(warehouse, f"SELECT count(*) FROM {table}") > 0, table





def test_help_lists_commands_and_settings():
    result = run_cli("--help")
    assert result.returncode == 0
    for word in ("demo", "sync", "simulate", *(setting.env for setting in SETTINGS.values())):
        assert word in result.stdout
