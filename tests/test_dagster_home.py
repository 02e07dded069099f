"""One Dagster history: what `usage-pipeline sync` ran, the Dagster UI shows as materialized, whether
it is started as `dagster dev` in the project's folder or as `usage-pipeline ui` from anywhere."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from admin_api_simulator import DEMO_ADMIN_KEY
from pipelines.dagster_home import WORKSPACE_CONFIG
from tests.test_cli import run_cli

REPOSITORY = Path(__file__).resolve().parent.parent
MATERIALIZATIONS = """
query ($key: AssetKeyInput!) {
  assetOrError(assetKey: $key) {
    ... on Asset { assetMaterializations(limit: 100) { partition runId } }
  }
}
"""
UI_START_SECONDS = 120  # dagster dev starts a webserver, a daemon and a code server on 2 cores


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def materialized_partitions(url: str, process: subprocess.Popen, asset_path: list[str]) -> set[str]:
    """The partitions the UI lists as materialized, polled until it answers with some (bounded)."""
    deadline = time.monotonic() + UI_START_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, "the Dagster UI exited"
        try:
            response = httpx.post(f"{url}/graphql", timeout=10, json={
                "query": MATERIALIZATIONS, "variables": {"key": {"path": asset_path}}})
            asset = response.json()["data"]["assetOrError"] if response.status_code == 200 else {}
            if asset.get("assetMaterializations"):
                return {m["partition"] for m in asset["assetMaterializations"]}
        except httpx.TransportError:
            pass  # not listening yet
        time.sleep(0.5)  # poll interval while the services start, not a wait for a result
    raise TimeoutError(f"the Dagster UI at {url} showed no materialization within {UI_START_SECONDS} s")


def sync_in(folder: Path, simulator) -> None:
    result = run_cli(
        "sync", "--start", "2026-11-01", "--end", "2026-11-02", "--reports", "cost_report",
        env={"ANTHROPIC_ADMIN_KEY": DEMO_ADMIN_KEY, "ANTHROPIC_BASE_URL": simulator.base_url,
             "WAREHOUSE_PATH": str(folder / "w.duckdb"), "USAGE_PIPELINE_START_DATE": "2026-01-01",
             "USAGE_PIPELINE_REQUESTS_PER_MINUTE": "0", "USAGE_PIPELINE_SOURCE": "legacy"},
        cwd=folder,
    )
    assert result.returncode == 0, result.stderr
    assert (folder / ".dagster_home" / "dagster.yaml").is_file()


def ui_command(how: str, port: int) -> list[str]:
    if how == "dagster dev":
        return [sys.executable, "-m", "dagster", "dev", "-h", "127.0.0.1", "-p", str(port)]
    return [sys.executable, "-m", "pipelines.cli", "ui", "--port", str(port)]


@pytest.mark.parametrize("how", ["dagster dev", "usage-pipeline ui"])
def test_the_dagster_ui_shows_what_a_cli_sync_materialized(how, simulator, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    if how == "dagster dev":  # the project's folder, as in the repository
        shutil.copy(REPOSITORY / "workspace.yaml", project)
        shutil.copy(REPOSITORY / "dagster.yaml", project)
    sync_in(project, simulator)

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "ANTHROPIC_", "USAGE_PIPELINE_"))}
    env |= {"WAREHOUSE_PATH": str(project / "w.duckdb"),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPOSITORY), os.environ.get("PYTHONPATH")]))}
    ui = subprocess.Popen(ui_command(how, port), cwd=project, env=env, start_new_session=True,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        partitions = materialized_partitions(f"http://127.0.0.1:{port}", ui, ["raw", "cost_report"])
        assert partitions == {"2026-11-01", "2026-11-02"}
    finally:
        os.killpg(ui.pid, signal.SIGINT)  # dagster dev stops its webserver, daemon and code server
        try:
            ui.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(ui.pid, signal.SIGKILL)
            ui.wait()
    assert not list(project.glob(".tmp_dagster_home_*")), "dagster dev left its throwaway folder"


def test_usage_pipeline_ui_declares_the_repositorys_code_location():
    """Schedule and sensor states are kept per code location: both ways of starting the UI share one."""
    assert yaml.safe_load(WORKSPACE_CONFIG) == yaml.safe_load((REPOSITORY / "workspace.yaml").read_text())
