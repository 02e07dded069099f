"""dlt: the `rest_api` source loading the same messages usage pages into DuckDB, configured as
dlt's REST API source documentation suggests for an API that returns its next-page cursor in the
body: a `cursor` paginator (`cursor_path: next_page`, `cursor_param: page`), `data_selector: data`,
an `api_key` auth in the `x-api-key` header, the duckdb destination. `file_format` in the spec:
null = dlt's default for duckdb (`insert_values`), or "parquet" (dlt's faster documented option).

Runs in the separate dlt venv (benchmarks/.venv-dlt, from benchmarks/requirements-dlt.txt), so it
imports nothing from the project:

    benchmarks/.venv-dlt/bin/python benchmarks/cases/dlt_load.py SPEC.json

SPEC.json: {"base_url", "admin_key", "endpoint": {"path", "params"}, "file_format", "duckdb_path",
"pipelines_dir", "out"}.
"""

from __future__ import annotations

import json
import os
import sys
import time

# No telemetry, no traffic anywhere but the simulator on 127.0.0.1.
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

import dlt  # noqa: E402
import duckdb  # noqa: E402
from dlt.sources.rest_api import rest_api_source  # noqa: E402

DATASET = "anthropic_usage"


def main(spec_path: str) -> int:
    with open(spec_path) as spec_file:
        spec = json.load(spec_file)
    started = time.perf_counter()
    source = rest_api_source(
        {
            "client": {
                "base_url": spec["base_url"],
                "headers": {"anthropic-version": "2023-06-01"},
                "auth": {"type": "api_key", "name": "x-api-key", "api_key": spec["admin_key"], "location": "header"},
                "paginator": {"type": "cursor", "cursor_path": "next_page", "cursor_param": "page"},
            },
            "resources": [
                {
                    "name": "messages_usage",
                    "write_disposition": "append",
                    "endpoint": {
                        "path": spec["endpoint"]["path"],
                        "params": spec["endpoint"]["params"],
                        "data_selector": "data",
                    },
                }
            ],
        }
    )
    pipeline = dlt.pipeline(
        pipeline_name="anthropic_usage_benchmark",
        destination=dlt.destinations.duckdb(spec["duckdb_path"]),
        dataset_name=DATASET,
        pipelines_dir=spec["pipelines_dir"],
    )
    load_info = pipeline.run(source, loader_file_format=spec.get("file_format"))
    load_info.raise_on_failed_jobs()
    inner_seconds = time.perf_counter() - started
    steps = {step.step: round((step.finished_at - step.started_at).total_seconds(), 2)
             for step in pipeline.last_trace.steps if step.step in ("extract", "normalize", "load")}

    # dlt keeps each bucket in `messages_usage` and unnests its `results` list into a child table.
    with duckdb.connect(spec["duckdb_path"], read_only=True) as con:
        rows = con.execute(f"SELECT count(*) FROM {DATASET}.messages_usage__results").fetchone()[0]
        buckets = con.execute(f"SELECT count(*) FROM {DATASET}.messages_usage").fetchone()[0]
    with open(spec["out"], "w") as out:
        json.dump(
            {
                "rows": rows,
                "buckets": buckets,
                "inner_seconds": round(inner_seconds, 3),
                "steps": steps,
                "file_format": spec.get("file_format") or "insert_values (default)",
                "dlt_version": dlt.__version__,
                "duckdb_version": duckdb.__version__,
            },
            out,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
