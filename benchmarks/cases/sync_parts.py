"""One part of `usage-pipeline sync`, through the same `pipelines.sync.run_sync` the CLI calls.

    python benchmarks/cases/sync_parts.py ingest --start D --end D [--reports messages_usage]
    python benchmarks/cases/sync_parts.py marts

`ingest` loads the reports without the entity snapshots and without the marts rebuild that ends a
CLI sync, so the load itself can be set against the fetch-and-parse floor; `marts` runs only the
marts build, its checks and the publication that end every run, on the warehouse as it is. Settings come from the environment, as
for the CLI (ANTHROPIC_ADMIN_KEY, ANTHROPIC_BASE_URL, WAREHOUSE_PATH, ...).
"""

from __future__ import annotations

import argparse
import inspect
import logging
import sys
from datetime import date

from pipelines.settings import Settings
from pipelines.sync import SyncRange, run_sync

HAS_MARTS = "marts" in inspect.signature(run_sync).parameters


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("part", choices=("ingest", "marts"))
    parser.add_argument("--start", type=date.fromisoformat)
    parser.add_argument("--end", type=date.fromisoformat)
    parser.add_argument("--reports", default="messages_usage")
    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(message)s")
    settings = Settings.load()
    settings.require_keys()
    options = {"marts": False} if HAS_MARTS else {}
    if args.part == "ingest":
        reports = tuple(name.strip() for name in args.reports.split(",") if name.strip())
        run_sync(settings, SyncRange(args.start, args.end), reports=reports, entities=False, **options)
    elif HAS_MARTS:
        day = settings.start_date
        run_sync(settings, SyncRange(day, day), reports=(), entities=False)
    else:
        print("this version of the pipeline has no marts", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
