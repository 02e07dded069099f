"""One Dagster history: what `usage-pipeline sync` ran, the Dagster UI shows as materialized."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from admin_api_simulator import DEMO_ADMIN_KEY
from tests.test_cli import run_cli

REPOSITORY = Path(__file__).resolve().parent.parent
MATERIALIZATIONS = """
query ($key: AssetKeyInput!) {
  assetOrError(assetKey: $key) {
    ... on Asset { assetMaterializations(limit: 100) { partition runId } }
  }
}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_ready(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the Dagster webserver exited"
        try:
            if httpx.get(f"{url}/server_info", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)  # the socket is not listening yet
    raise TimeoutError(f"the Dagster webserver at {url} was not ready within {timeout} s")


def test_the_dagster_ui_shows_what_a_cli_sync_materialized(simulator, tmp_path):
    result = run_cli(
        "sync", "--start", "2026-11-01", "--end", "2026-11-02", "--reports", "cost_report",
        env={"ANTHROPIC_ADMIN_KEY": DEMO_ADMIN_KEY, "ANTHROPIC_BASE_URL": simulator.base_url,
             "WAREHOUSE_PATH": str(tmp_path / "w.duckdb"), "USAGE_PIPELINE_START_DATE": "2026-01-01",
             "USAGE_PIPELINE_REQUESTS_PER_MINUTE": "0"},
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    dagster_home = tmp_path / ".dagster_home"
    assert (dagster_home / "dagster.yaml").is_file()

    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home), "WAREHOUSE_PATH": str(tmp_path / "w.duckdb"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPOSITORY), os.environ.get("PYTHONPATH")]))}
    webserver = subprocess.Popen(
        [sys.executable, "-m", "dagster_webserver", "-h", "127.0.0.1", "-p", str(port),
         "-w", str(REPOSITORY / "workspace.yaml")],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_ready(url, webserver)
        response = httpx.post(f"{url}/graphql", timeout=30, json={
            "query": MATERIALIZATIONS, "variables": {"key": {"path": ["raw", "cost_report"]}}})
        materializations = response.json()["data"]["assetOrError"]["assetMaterializations"]
        assert {m["partition"] for m in materializations} == {"2026-11-01", "2026-11-02"}
    finally:
        webserver.terminate()
        webserver.wait(timeout=30)
