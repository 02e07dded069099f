"""The serving copy and Parquet export that analysts and BI tools read."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines.publish import publish
from pipelines.settings import Settings
from pipelines.simulator import DEMO_ADMIN_KEY
from pipelines.sync import SyncRange, run_sync
from tests.duckdb1 import DUCKDB_1_VERSION, query_with_duckdb1
from tests.warehouse_helpers import scalar


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    """A small synced warehouse, shared by the tests of this module (they only read it)."""
    from pipelines.simulator import Simulator
    from tests.conftest import SIMULATOR_NOW, SIMULATOR_SEED

    path = tmp_path_factory.mktemp("publish") / "warehouse.duckdb"
    with pytest.MonkeyPatch.context() as env, Simulator(seed=SIMULATOR_SEED, now=SIMULATOR_NOW) as simulator:
        env.setenv("ANTHROPIC_ADMIN_KEY", DEMO_ADMIN_KEY)
        settings = Settings.from_mapping(
            {"base_url": simulator.base_url, "warehouse_path": str(path), "start_date": "2026-01-01",
             "requests_per_minute": 0}
        )
        run_sync(settings, SyncRange(date(2026, 10, 28), date(2026, 11, 3)))
    return path


def test_serving_copy_holds_every_table_and_is_readable_by_duckdb_1(warehouse, tmp_path):
    publication = publish(warehouse, tmp_path / "serving.duckdb")
    assert publication.rows > 0
    expected = scalar(warehouse, "SELECT sum(amount_cents)::VARCHAR FROM raw.cost_report")
    version, rows = query_with_duckdb1(publication.serving_path, "SELECT sum(amount_cents)::VARCHAR FROM raw.cost_report")
    assert version == DUCKDB_1_VERSION
    assert rows == [[expected]]
    with duckdb.connect(str(warehouse), read_only=True) as source, duckdb.connect(str(publication.serving_path), read_only=True) as copy:
        tables = "SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE schema_name IN ('raw', 'marts') ORDER BY 1"
        assert copy.execute(tables).fetchall() == source.execute(tables).fetchall()


def test_republishing_swaps_atomically_while_an_old_reader_keeps_its_snapshot(warehouse, tmp_path):
    serving = tmp_path / "serving.duckdb"
    publish(warehouse, serving)
    reader = duckdb.connect(str(serving), read_only=True)  # a reader that never lets go
    try:
        before = reader.execute("SELECT count(*) FROM raw.messages_usage").fetchall()
        publish(warehouse, serving)  # must not be blocked by the reader, nor disturb it
        assert reader.execute("SELECT count(*) FROM raw.messages_usage").fetchall() == before
    finally:
        reader.close()
    assert not list(tmp_path.glob(".*.tmp"))


def test_parquet_export_is_partitioned_by_month_and_replaced_whole(warehouse, tmp_path):
    parquet = tmp_path / "parquet"
    first = publish(warehouse, tmp_path / "serving.duckdb", parquet).parquet_path
    months = sorted(p.name for p in (parquet / "raw" / "cost_report").iterdir())
    assert months == ["export_month=2026-10", "export_month=2026-11"]
    assert (parquet / "raw" / "users" / "data.parquet").exists()
    total = duckdb.sql(
        f"SELECT sum(amount_cents) FROM read_parquet('{parquet}/raw/cost_report/*/*.parquet', hive_partitioning = true)"
    ).fetchall()[0][0]
    assert total == scalar(warehouse, "SELECT sum(amount_cents) FROM raw.cost_report")
    second = publish(warehouse, tmp_path / "serving.duckdb", parquet).parquet_path
    assert parquet.resolve() == second and not first.exists()
