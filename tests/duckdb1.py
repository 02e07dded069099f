"""A DuckDB 1.x client in its own virtualenv, as BI drivers embed: built once, cached between runs."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

DUCKDB_1_VERSION = "1.1.3"  # an old 1.x release, as embedded by BI drivers
CACHE_DIR = Path.home() / ".cache" / "anthropic-usage-pipeline" / f"duckdb-{DUCKDB_1_VERSION}"


def duckdb1_python() -> Path:
    """The interpreter of a virtualenv holding duckdb 1.x (created on first use)."""
    python = CACHE_DIR / "bin" / "python"
    if not python.exists():
        venv.create(CACHE_DIR, with_pip=True, clear=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", f"duckdb=={DUCKDB_1_VERSION}"],
            check=True,
            capture_output=True,
            timeout=600,
        )
    return python


def query_with_duckdb1(database: Path, sql: str) -> tuple[str, list]:
    """Run one query with the DuckDB 1.x client in another process; returns (version, rows)."""
    script = (
        "import duckdb, json, sys\n"
        "con = duckdb.connect(sys.argv[1], read_only=True)\n"
        "rows = con.execute(sys.argv[2]).fetchall()\n"
        "print(json.dumps([duckdb.__version__, rows], default=str))\n"
    )
    result = subprocess.run(
        [str(duckdb1_python()), "-c", script, str(database), sql], capture_output=True, text=True, timeout=120
    )
    if result.returncode:
        raise AssertionError(f"DuckDB {DUCKDB_1_VERSION} could not read {database}: {result.stderr[-2000:]}")
    version, rows = json.loads(result.stdout)
    return version, rows


if __name__ == "__main__":
    print(duckdb1_python(), file=sys.stderr)
