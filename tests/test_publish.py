"""The serving copy and Parquet export that analysts and BI tools read."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from admin_api_simulator import DEMO_ADMIN_KEY
from pipelines.warehouse import connect
from pipelines.marts import build_marts
from pipelines.publish import PUBLISHED_SCHEMAS, publish
from pipelines.settings import Settings
from pipelines.sync import SyncRange, run_sync
from tests.duckdb1 import DUCKDB_1_VERSION, query_with_duckdb1
from tests.warehouse_helpers import record_reload, scalar, tables_that_differ


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    """A small synced warehouse, shared by the tests of this module (they only read it)."""
    from admin_api_simulator import Simulator
    from tests.conftest import SIMULATOR_NOW, SIMULATOR_SEED

    path = tmp_path_factory.mktemp("publish") / "warehouse.duckdb"
    with pytest.MonkeyPatch.context() as env, Simulator(seed=SIMULATOR_SEED, now=SIMULATOR_NOW) as simulator:
        env.setenv("ANTHROPIC_ADMIN_KEY", DEMO_ADMIN_KEY)
        settings = Settings.from_mapping(
            {"base_url": simulator.base_url, "warehouse_path": str(path), "start_date": "2026-01-01",
             "requests_per_minute": 0, "source": "legacy"}
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


def parquet_rows(parquet: Path, schema: str, table: str) -> list[tuple]:
    """Every row of a table's Parquet export, sorted (the partition column left out)."""
    folder = parquet / schema / table
    if any(folder.glob("export_month=*")):
        sql = f"SELECT * EXCLUDE (export_month) FROM read_parquet('{folder}/*/*.parquet', hive_partitioning = true)"
    else:
        sql = f"SELECT * FROM read_parquet('{folder}/data.parquet')"
    return sorted(duckdb.sql(sql).fetchall(), key=repr)


def test_a_daily_publication_copies_only_the_changed_days_and_equals_a_full_one(warehouse, tmp_path):
    source = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse, source)
    serving, parquet = tmp_path / "serving.duckdb", tmp_path / "parquet"
    assert publish(source, serving, parquet).is_full  # the first one
    unchanged = publish(source, serving, parquet)
    assert (unchanged.is_full, unchanged.days) == (False, ())
    october_files = {file.stat().st_ino for file in (parquet / "raw" / "cost_report" / "export_month=2026-10").iterdir()}
    # A restated day is loaded again and the marts rebuilt, as a daily run does.
    with connect(source) as con:
        con.execute("UPDATE raw.cost_report SET amount_usd = amount_usd * 3, amount_cents = amount_cents * 3 "
                    "WHERE CAST(bucket_start AS DATE) = DATE '2026-11-02'")
    record_reload(source, "raw.cost_report", "2026-11-02")
    with connect(source) as con:
        build_marts(con)
    daily = publish(source, serving, parquet)
    assert (daily.is_full, daily.days) == (False, (date(2026, 11, 2),))
    # October's files are the previous export's (hard links), not written again
    assert {file.stat().st_ino for file in (parquet / "raw" / "cost_report" / "export_month=2026-10").iterdir()} \
        == october_files

    reference = publish(source, tmp_path / "reference.duckdb", tmp_path / "reference-parquet")
    assert reference.is_full and reference.rows == daily.rows
    assert tables_that_differ(serving, reference.serving_path, PUBLISHED_SCHEMAS) == []
    for schema, table in [("raw", "cost_report"), ("raw", "messages_usage"), ("raw", "users"),
                          ("marts", "cost_allocation"), ("marts", "workspace_spend_signals")]:
        assert parquet_rows(parquet, schema, table) == parquet_rows(tmp_path / "reference-parquet", schema, table)
    expected = scalar(source, "SELECT sum(amount_cents)::VARCHAR FROM raw.cost_report")
    assert query_with_duckdb1(serving, "SELECT sum(amount_cents)::VARCHAR FROM raw.cost_report")[1] == [[expected]]


def test_a_copy_published_from_another_warehouse_is_replaced_whole(warehouse, tmp_path):
    serving = tmp_path / "serving.duckdb"
    publish(warehouse, serving)
    other = tmp_path / "other.duckdb"
    shutil.copy(warehouse, other)
    again = publish(other, serving)
    assert again.is_full and f"published from {warehouse}" in again.reason
