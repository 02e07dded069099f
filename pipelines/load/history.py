"""Entity snapshots kept as history (SCD type 2), so renamed keys and deleted users still resolve.

Each snapshot closes the current version of every entity that changed or disappeared and opens a
new version for every entity that is new or changed; unchanged entities are left alone. A version
is identified by `row_hash`, a hash of the entity's descriptive columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb
import polars as pl


@dataclass(frozen=True)
class SnapshotChanges:
    table: str
    current: int  # entities in the snapshot
    opened: int   # new or changed versions
    closed: int   # versions ended (changed or gone)


def apply_snapshot(
    con: duckdb.DuckDBPyConnection,
    table: str,
    rows: pl.DataFrame,
    key_columns: tuple[str, ...],
    organization_id: str,
    snapshot_at: datetime,
) -> SnapshotChanges:
    """Merge one complete snapshot of an entity list into its history table.

    Runs inside the caller's transaction; the caller commits all entity tables together.
    """
    descriptive = [c for c in rows.columns if c not in key_columns]
    struct = ", ".join(f"{c} := {c}" for c in descriptive)
    key_match = " AND ".join(f"h.{k} = s.{k}" for k in key_columns)
    params = {"organization_id": organization_id, "snapshot_at": snapshot_at}
    con.register("snapshot_rows", rows)
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE snapshot AS "
            f"SELECT *, md5(CAST(struct_pack({struct}) AS VARCHAR)) AS row_hash FROM snapshot_rows"
        )
    finally:
        con.unregister("snapshot_rows")
    (closed,) = con.execute(
        f"UPDATE {table} AS h SET valid_to = $snapshot_at, is_current = false "
        "WHERE h.organization_id = $organization_id AND h.is_current "
        f"AND NOT EXISTS (SELECT 1 FROM snapshot AS s WHERE {key_match} AND s.row_hash = h.row_hash)",
        params,
    ).fetchone()
    (opened,) = con.execute(
        f"INSERT INTO {table} BY NAME "
        "SELECT s.*, $organization_id AS organization_id, $snapshot_at AS valid_from, "
        "NULL::TIMESTAMPTZ AS valid_to, true AS is_current, $snapshot_at AS loaded_at FROM snapshot AS s "
        f"WHERE NOT EXISTS (SELECT 1 FROM {table} AS h WHERE h.organization_id = $organization_id "
        f"AND h.is_current AND {key_match} AND h.row_hash = s.row_hash)",
        params,
    ).fetchone()
    con.execute("DROP TABLE snapshot")
    return SnapshotChanges(table, rows.height, opened, closed)
