"""Files that cannot be turned against the user: locks never follow a symlink and are one per real
warehouse, a waiting sync always names the holder, no command writes over the warehouse or the
serving copy, the demo keeps to its own files, and what the pipeline creates is private."""

from __future__ import annotations

import fcntl
import os
import stat
import threading
from pathlib import Path

import pytest

from pipelines.publish import publish
from admin_api_simulator import Simulator
from pipelines.warehouse import UnsafePathError, WarehouseBusyError, writer_lock, writer_lock_path
from tests.conftest import SIMULATOR_NOW, SIMULATOR_SEED
from tests.faults.helpers import run_cli, sync_args
from tests.hostile.helpers import LAST, assert_refused, file_state, hostile_env
from tests.scripted_server import ScriptedServer
from tests.test_cli import run_cli as run_plain_cli

pytestmark = pytest.mark.hostile

ONE_REPORT = sync_args(LAST, LAST, "--skip-entities", "--reports", "cost_report")


@pytest.fixture
def unused_api():
    """A loopback API that must not be asked anything."""
    with ScriptedServer() as server:
        yield server
    assert server.requests == []


def test_a_symlinked_lock_is_refused_and_its_target_left_unchanged(warehouse, tmp_path, unused_api):
    victim = tmp_path / "precious.txt"
    victim.write_text("do not truncate me\n")
    before = file_state(victim)
    writer_lock_path(warehouse).symlink_to(victim)
    result = run_cli(*ONE_REPORT, env=hostile_env(None, warehouse, ANTHROPIC_BASE_URL=unused_api.url))
    assert_refused(result, "is a symbolic link", "remove the link")
    assert file_state(victim) == before

    serving = warehouse.with_name("serving.duckdb")
    writer_lock_path(warehouse).unlink()
    writer_lock_path(serving).symlink_to(victim)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        publish(warehouse, serving)
    assert file_state(victim) == before


def test_two_paths_to_one_warehouse_share_one_lock(warehouse, tmp_path, unused_api):
    alias = tmp_path / "alias" / "w.duckdb"
    alias.parent.mkdir()
    alias.symlink_to(warehouse)
    assert writer_lock_path(alias) == writer_lock_path(tmp_path / "alias" / ".." / "warehouse.duckdb")
    with writer_lock(warehouse):
        result = run_cli(*ONE_REPORT, "--wait", "0", env=hostile_env(None, alias, ANTHROPIC_BASE_URL=unused_api.url))
    assert_refused(result, f"another sync (pid {os.getpid()}")


def test_a_waiting_sync_names_the_holder_even_before_it_wrote_its_name(tmp_path):
    """The holder takes the lock, then writes who it is: a waiter looking in between must not say
    "pid unknown"."""
    warehouse = tmp_path / "w.duckdb"
    holder = os.open(writer_lock_path(warehouse), os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(holder, fcntl.LOCK_EX)  # locked, still empty
    late_name = threading.Timer(0.3, lambda: os.pwrite(holder, b"pid 4242, started just now, usage-pipeline sync", 0))
    late_name.start()
    try:
        with pytest.raises(WarehouseBusyError, match=r"another sync \(pid 4242, started just now"):
            with writer_lock(warehouse, timeout_seconds=0):
                pass
    finally:
        late_name.join()
        os.close(holder)


def test_no_command_writes_over_the_warehouse_or_the_serving_copy(warehouse, tmp_path, unused_api):
    serving = warehouse.with_name("serving.duckdb")
    link = tmp_path / "link.html"
    link.symlink_to(warehouse)
    before = {path: file_state(path) for path in (warehouse, serving)}
    env = {"WAREHOUSE_PATH": str(warehouse)}
    by_dots = tmp_path / ".." / tmp_path.name / "serving.duckdb"
    for output in (warehouse, serving, link, Path(f"{warehouse}.wal"), by_dots):
        assert_refused(run_plain_cli("report", "--output", str(output), env=env, cwd=tmp_path), "report --output")
    assert_refused(run_plain_cli("report", "--output", str(tmp_path), env=env, cwd=tmp_path), "is a directory")

    same = hostile_env(None, warehouse, ANTHROPIC_BASE_URL=unused_api.url, USAGE_PIPELINE_SERVING_PATH=str(warehouse))
    assert_refused(run_cli(*ONE_REPORT, env=same), "USAGE_PIPELINE_SERVING_PATH", "same file as WAREHOUSE_PATH")
    same_by_link = same | {"USAGE_PIPELINE_SERVING_PATH": str(link)}
    assert_refused(run_cli(*ONE_REPORT, env=same_by_link), "same file as WAREHOUSE_PATH")
    folder = hostile_env(None, warehouse, ANTHROPIC_BASE_URL=unused_api.url, USAGE_PIPELINE_PARQUET_DIR=str(tmp_path))
    assert_refused(run_cli(*ONE_REPORT, env=folder), "USAGE_PIPELINE_PARQUET_DIR", "not the symlink")
    assert {path: file_state(path) for path in before} == before

    elsewhere = tmp_path / "elsewhere.html"
    elsewhere.write_text("someone else's page")
    report_link = tmp_path / "report.html"
    report_link.symlink_to(elsewhere)
    assert run_plain_cli("report", "--output", str(report_link), env=env, cwd=tmp_path).returncode == 0
    assert elsewhere.read_text() == "someone else's page" and not report_link.is_symlink()  # replaced, not followed


def private(path: Path) -> bool:
    """Neither group nor others may read it (a symlink's own mode means nothing: its target counts)."""
    return path.is_symlink() or stat.S_IMODE(path.stat().st_mode) & 0o077 == 0


def test_the_demo_keeps_to_its_own_files_which_are_private(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    real_serving, real_export = data / "serving.duckdb", data / "parquet"
    real_serving.write_bytes(b"the real warehouse's publication")
    real_export.symlink_to("parquet-of-the-real-warehouse")
    before = file_state(real_serving)
    result = run_plain_cli("demo", "--days", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert file_state(real_serving) == before and os.readlink(real_export) == "parquet-of-the-real-warehouse"
    assert "USAGE_PIPELINE_SERVING_PATH=data/demo-serving.duckdb usage-pipeline sql" in result.stderr
    created = [path for path in data.rglob("*") if path not in (real_serving, real_export)]
    assert {"demo.duckdb", "demo-serving.duckdb", "demo-parquet"} <= {path.name for path in created}
    assert [path for path in created if not private(path)] == []

    for taken in ("data/warehouse.duckdb", "data/serving.duckdb"):
        assert_refused(run_plain_cli("demo", "--warehouse", taken, cwd=tmp_path), "real warehouse's file")
    assert not (data / "warehouse.duckdb").exists() and file_state(real_serving) == before


def test_files_are_shared_with_the_group_only_when_asked(tmp_path):
    warehouse = tmp_path / "shared" / "w.duckdb"
    with Simulator(seed=SIMULATOR_SEED, now=SIMULATOR_NOW) as simulator:
        result = run_cli(*ONE_REPORT, env=hostile_env(simulator, warehouse, USAGE_PIPELINE_SHARE_WITH_GROUP="true"))
    assert result.returncode == 0, result.stderr
    created = list(warehouse.parent.rglob("*"))
    modes = {path.name: stat.S_IMODE(path.lstat().st_mode) for path in created if not path.is_symlink()}
    assert modes["w.duckdb"] & 0o040 and modes["serving.duckdb"] & 0o040  # the group reads
    assert all(mode & 0o007 == 0 for mode in modes.values()), modes  # nobody else does
