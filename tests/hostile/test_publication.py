"""A serving copy or Parquet export damaged or changed since its publication is repaired by the
next publication, never patched over nor a reason for a failed sync."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines.publish import PUBLISHED_SCHEMAS, publish
from admin_api_simulator import Simulator
from tests.conftest import SIMULATOR_NOW, SIMULATOR_SEED
from tests.faults.helpers import run_cli, sync_args
from tests.hostile.helpers import LAST, hostile_env
from tests.test_publish import parquet_rows
from tests.warehouse_helpers import tables_that_differ

pytestmark = pytest.mark.hostile

CHECKED_EXPORTS = [("raw", "cost_report"), ("raw", "messages_usage"), ("marts", "cost_allocation")]


@pytest.fixture
def published(warehouse, tmp_path) -> tuple[Path, Path, Path]:
    """A private warehouse, published once (serving copy and Parquet export)."""
    serving, parquet = tmp_path / "serving.duckdb", tmp_path / "parquet"
    publish(warehouse, serving, parquet)
    return warehouse, serving, parquet


def assert_equals_a_fresh_publication(source: Path, serving: Path, parquet: Path, tmp_path: Path) -> None:
    reference = publish(source, tmp_path / "reference.duckdb", tmp_path / "reference-parquet")
    assert tables_that_differ(serving, reference.serving_path, PUBLISHED_SCHEMAS) == []
    for schema, table in CHECKED_EXPORTS:
        assert parquet_rows(parquet, schema, table) == parquet_rows(tmp_path / "reference-parquet", schema, table)


def truncate(path: Path) -> None:
    with path.open("r+b") as file:
        file.truncate(path.stat().st_size // 2)


def zero(path: Path) -> None:
    path.write_bytes(bytes(path.stat().st_size))


def foreign(path: Path) -> None:
    path.write_text("id,name\n1,not a DuckDB file\n")


def empty(path: Path) -> None:
    path.write_bytes(b"")


@pytest.mark.parametrize("damage", [truncate, zero, foreign, empty])
def test_an_unreadable_copy_is_replaced_by_a_full_publication(published, tmp_path, damage):
    source, serving, parquet = published
    damage(serving)
    again = publish(source, serving, parquet)
    assert again.is_full and "cannot be read" in again.reason
    assert_equals_a_fresh_publication(source, serving, parquet, tmp_path)


def test_a_copy_changed_by_a_bi_tool_has_the_changed_tables_copied_again(published, tmp_path):
    source, serving, parquet = published
    with duckdb.connect(str(serving)) as bi_tool:  # opened read-write, as a careless tool does
        bi_tool.execute("DELETE FROM raw.messages_usage WHERE CAST(bucket_start AS DATE) = DATE '2026-10-30'")
        bi_tool.execute("UPDATE marts.cost_allocation SET cost_usd = 0")
    again = publish(source, serving, parquet)
    assert (again.is_full, again.days) == (False, ())
    assert set(again.repaired) == {"raw.messages_usage", "marts.cost_allocation"}
    assert_equals_a_fresh_publication(source, serving, parquet, tmp_path)
    assert publish(source, serving, parquet).repaired == ()  # and then it is clean again


def test_a_copy_given_extra_tables_or_changed_bookkeeping_is_published_in_full(published, tmp_path):
    source, serving, parquet = published
    with duckdb.connect(str(serving)) as bi_tool:
        bi_tool.execute("CREATE TABLE marts.my_scratch AS SELECT 42 AS answer")
        bi_tool.execute("DELETE FROM meta.published_partitions")
    again = publish(source, serving, parquet)
    assert again.is_full and "changed since it was published" in again.reason
    assert_equals_a_fresh_publication(source, serving, parquet, tmp_path)


def test_a_missing_or_changed_parquet_month_is_written_again(published, tmp_path):
    source, serving, parquet = published
    shutil.rmtree(parquet / "raw" / "cost_report" / "export_month=2026-10")
    changed = next((parquet / "raw" / "messages_usage" / "export_month=2026-11").iterdir())
    changed.write_bytes(b"PAR1 not what was published")
    untouched = {file.stat().st_ino for file in (parquet / "marts" / "cost_allocation").rglob("*.parquet")}
    again = publish(source, serving, parquet)
    assert not again.is_full
    assert set(again.repaired) == {"raw/cost_report/export_month=2026-10", "raw/messages_usage/export_month=2026-11"}
    assert_equals_a_fresh_publication(source, serving, parquet, tmp_path)
    # the months nobody touched are still the previous export's files, hard-linked
    assert {file.stat().st_ino for file in (parquet / "marts" / "cost_allocation").rglob("*.parquet")} == untouched


def test_the_next_sync_repairs_a_truncated_copy_and_a_deleted_month(published, tmp_path):
    source, serving, parquet = published  # where a sync of `source` publishes by default
    truncate(serving)
    shutil.rmtree(parquet / "raw" / "cost_report" / "export_month=2026-10")
    with Simulator(seed=SIMULATOR_SEED, now=SIMULATOR_NOW) as simulator:
        again = run_cli(*sync_args(LAST, LAST, "--skip-entities", "--reports", "cost_report"),
                        env=hostile_env(simulator, source))
    assert again.returncode == 0, again.stderr
    assert "cannot be read" in again.stderr and "Traceback" not in again.stderr
    assert_equals_a_fresh_publication(source, serving, parquet, tmp_path)
