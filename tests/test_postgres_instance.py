"""deploy/dagster.yaml against a real PostgreSQL server: run history survives a restart of Dagster.

Skipped, with the reason, where PostgreSQL's server binaries (Debian's `postgresql` package) are
absent. The server is started on a free loopback port in a temporary folder and stopped after.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from admin_api_simulator import DEMO_ADMIN_KEY

REPO = Path(__file__).resolve().parents[1]
PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)), None)

pytestmark = pytest.mark.skipif(
    PG_BIN is None or not (PG_BIN / "initdb").exists(),
    reason="PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install postgresql)",
)


def _as_postgres_user(command: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root; use the package's `postgres` user then."""
    if os.geteuid() != 0:
        return command
    if shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL as another user")
    return ["runuser", "-u", "postgres", "--", *command]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def postgres() -> Iterator[dict[str, str]]:
    # Not under pytest's tmp_path: its folders are private to root, and the server runs as `postgres`.
    data_dir = Path(tempfile.mkdtemp(prefix="usage-pipeline-pg-")) / "data"
    data_dir.mkdir()
    if os.geteuid() == 0:
        shutil.chown(data_dir.parent, "postgres")
        shutil.chown(data_dir, "postgres")
    port = _free_port()
    subprocess.run(
        _as_postgres_user([str(PG_BIN / "initdb"), "-D", str(data_dir), "-U", "dagster", "--auth=trust"]),
        check=True, capture_output=True, timeout=120,
    )
    subprocess.run(
        _as_postgres_user([
            str(PG_BIN / "pg_ctl"), "-D", str(data_dir), "-w", "-t", "60", "-l", str(data_dir / "server.log"),
            "-o", f"-p {port} -k {data_dir} -c listen_addresses=127.0.0.1",
            "start",
        ]),
        check=True, capture_output=True, timeout=120,
    )
    try:
        yield {"DAGSTER_PG_URL": f"postgresql+psycopg2://dagster@127.0.0.1:{port}/postgres"}
    finally:
        subprocess.run(
            _as_postgres_user([str(PG_BIN / "pg_ctl"), "-D", str(data_dir), "-m", "fast", "stop"]),
            capture_output=True, timeout=120,
        )
        shutil.rmtree(data_dir.parent, ignore_errors=True)


def _python(code: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True, timeout=300, cwd=REPO
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_runs_and_event_logs_survive_a_restart_with_postgres_storage(postgres, tmp_path, simulator):
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(REPO / "deploy" / "dagster.yaml", dagster_home / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "WAREHOUSE_", "USAGE_PIPELINE_"))}
    env |= postgres | {
        "DAGSTER_HOME": str(dagster_home),
        "ANTHROPIC_ADMIN_KEY": DEMO_ADMIN_KEY,
        "ANTHROPIC_BASE_URL": simulator.base_url,
        "WAREHOUSE_PATH": str(tmp_path / "warehouse.duckdb"),
        "USAGE_PIPELINE_START_DATE": "2026-01-01",
        "USAGE_PIPELINE_REQUESTS_PER_MINUTE": "0",
    }
    # First process: a sync, recorded in the PostgreSQL-backed instance.
    _python('from pipelines.cli import main; assert main(["sync", "--start", "2026-11-05", "--end", "2026-11-06"]) == 0', env)
    # Second process (as a restarted webserver or daemon): runs and event logs are still there.
    out = _python(
        """
        import dagster as dg
        instance = dg.DagsterInstance.get()
        runs = instance.get_runs()
        print(type(instance.run_storage).__name__, len(runs), sorted({r.status.value for r in runs}))
        key = dg.AssetKey(["raw", "messages_usage"])
        print(sorted(instance.get_materialized_partitions(key)))
        """,
        env,
    )
    storage, runs, statuses, *_ = out.split(maxsplit=3)
    assert storage == "PostgresRunStorage"
    assert int(runs) == 2 and "SUCCESS" in statuses
    assert "'2026-11-05', '2026-11-06'" in out
