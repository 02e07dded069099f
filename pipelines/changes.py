"""Which UTC days of the raw reports changed since a snapshot of the load log.

Every load of a raw partition (report table, UTC day) adds a row to ``raw.load_log`` in the same
transaction as its data. A consumer (the marts build, the publication) keeps a snapshot of each
partition's latest ``loaded_at`` when it has caught up; a partition whose latest load is missing
from that snapshot was loaded since. Comparing values rather than clocks means a clock that
steps back never hides a load.
"""

from __future__ import annotations

from datetime import date

import duckdb

# The latest load of every partition, from a load log (a table name such as raw.load_log).
_LATEST_LOADS = "SELECT table_name, partition_date, max(loaded_at) AS loaded_at FROM {load_log} GROUP BY ALL"


def latest_loads_sql(load_log: str = "raw.load_log") -> str:
    """A query of the latest load of every partition: the snapshot to keep."""
    return _LATEST_LOADS.format(load_log=load_log)


def changed_days(con: duckdb.DuckDBPyConnection, snapshot: str, load_log: str = "raw.load_log") -> list[date]:
    """The UTC days with a partition loaded since ``snapshot`` (a table of ``latest_loads_sql``)."""
    rows = con.execute(
        f"SELECT DISTINCT partition_date FROM ({latest_loads_sql(load_log)}) "
        f"ANTI JOIN {snapshot} USING (table_name, partition_date, loaded_at) ORDER BY 1"
    ).fetchall()
    return [day for (day,) in rows]


def loaded_days(con: duckdb.DuckDBPyConnection, load_log: str = "raw.load_log") -> list[date]:
    """Every UTC day the load log has a partition of."""
    return [day for (day,) in con.execute(f"SELECT DISTINCT partition_date FROM {load_log} ORDER BY 1").fetchall()]
