"""Time the README's example analyst queries (its ```sql blocks) on a warehouse, read-only.

    python benchmarks/cases/queries.py WAREHOUSE README.md OUT.json [--runs 5]

Skips (and says why) when the warehouse has no `marts` schema or the README has no SQL example.
Each query runs once on the freshly opened file (`first_ms`, cold), then `--runs` times; OUT gets the
median and the worst of those in ms.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path

import duckdb

SQL_BLOCK = re.compile(r"```sql\s*\n(.*?)```", re.DOTALL)


def readme_queries(readme: Path) -> list[str]:
    """Every SQL statement of the README's ```sql blocks that reads (SELECT / WITH / FROM / SUMMARIZE)."""
    queries = []
    for block in SQL_BLOCK.findall(readme.read_text()):
        for statement in _statements(block):
            first_word = re.sub(r"--[^\n]*", "", statement).strip().split(None, 1)[0].lower()
            if first_word in ("select", "with", "from", "summarize", "pivot"):
                queries.append(statement)
    return queries


def _statements(block: str) -> list[str]:
    """Split on semicolons at line ends (the examples' style); keep comment-only parts out."""
    parts = re.split(r";[ \t]*(?:\n|$)", block)
    return [p.strip() for p in parts if re.sub(r"--[^\n]*", "", p).strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("readme", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)

    result: dict[str, object] = {"queries": []}
    queries = readme_queries(args.readme)
    with duckdb.connect(str(args.warehouse), read_only=True) as con:
        con.execute("SET TimeZone = 'UTC'")
        schemas = {row[0] for row in con.execute("SELECT schema_name FROM information_schema.schemata").fetchall()}
        if "marts" not in schemas:
            result["skipped"] = "the warehouse has no marts schema (marts not built yet)"
        elif not queries:
            result["skipped"] = "README.md has no ```sql example queries yet"
        else:
            for query in queries:
                entry: dict[str, object] = {"sql": query}
                try:
                    started = time.perf_counter()
                    con.execute(query).fetchall()
                    first_ms = (time.perf_counter() - started) * 1000
                    timings = []
                    for _ in range(args.runs):
                        started = time.perf_counter()
                        rows = con.execute(query).fetchall()
                        timings.append((time.perf_counter() - started) * 1000)
                    entry |= {"rows": len(rows), "first_ms": round(first_ms, 1),
                              "median_ms": round(statistics.median(timings), 1),
                              "max_ms": round(max(timings), 1)}
                except duckdb.Error as error:
                    entry["error"] = str(error).splitlines()[0]
                result["queries"].append(entry)  # type: ignore[union-attr]
    args.out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
