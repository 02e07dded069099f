"""The floor: fetch every page of the pipeline's messages usage requests with httpx and parse the
JSON with the standard library, nothing else (`--no-parse`: fetch only, the transport's share).

    python benchmarks/cases/floor.py --base-url URL --first 2025-11-25 --last 2026-11-24 --out result.json

Also used, with `--warm-up`, to send every request of every case once so the simulator caches it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import plan  # noqa: E402  (benchmarks/plan.py)


def count_rows(document: dict) -> int:
    """Result rows of a bucketed report page, or records of a Claude Code page."""
    data = document["data"]
    if data and isinstance(data[0], dict) and "results" in data[0]:
        return sum(len(bucket["results"]) for bucket in data)
    return len(data)


def walk(client: httpx.Client, path: str, params: list[tuple[str, str]], parse: bool) -> tuple[int, int, int]:
    """Every page of one request: (pages, rows, bytes). Follows `next_page` like the pipeline."""
    pages = rows = size = 0
    cursor = None
    while True:
        response = client.get(path, params=params if cursor is None else [*params, ("page", cursor)])
        response.raise_for_status()
        body = response.content
        pages, size = pages + 1, size + len(body)
        if parse:
            document = json.loads(body)
            rows += count_rows(document)
            has_more, cursor = document["has_more"], document["next_page"]
        else:
            # Without a parse the cursor still has to be read; it sits at the end of the page.
            tail = json.loads(b"{" + body[body.rindex(b'"has_more"'):]) if b'"has_more"' in body else {}
            has_more, cursor = tail.get("has_more", False), tail.get("next_page")
        if not has_more:
            return pages, rows, size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--admin-key", required=True)
    parser.add_argument("--first", required=True, type=date.fromisoformat)
    parser.add_argument("--last", required=True, type=date.fromisoformat)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--no-parse", action="store_true", help="fetch only")
    parser.add_argument("--warm-up", action="store_true", help="request every case's pages once (all reports, dlt's too)")
    parser.add_argument("--also-first", action="append", default=[], type=date.fromisoformat,
                        help="with --warm-up: also the messages usage windows from this day to --last")
    args = parser.parse_args(argv)

    requests = list(plan.messages_usage_requests(args.first, args.last))
    if args.warm_up:
        requests += list(plan.dlt_requests(args.first, args.last))
        requests += list(plan.cost_report_requests(args.first, args.last))
        requests += list(plan.claude_code_requests(args.first, args.last))
        for first in args.also_first:
            requests += list(plan.messages_usage_requests(first, args.last))
    headers = {"x-api-key": args.admin_key, "anthropic-version": plan.API_VERSION, "accept": "application/json"}
    started = time.perf_counter()
    pages = rows = size = 0
    with httpx.Client(base_url=args.base_url, headers=headers, timeout=httpx.Timeout(600.0, connect=10.0)) as client:
        for path, params in requests:
            walked = walk(client, path, params, parse=not args.no_parse)
            pages, rows, size = pages + walked[0], rows + walked[1], size + walked[2]
    args.out.write_text(json.dumps({
        "rows": rows if not args.no_parse else None,
        "pages": pages,
        "requests": len(requests),
        "mib": round(size / 2**20, 1),
        "inner_seconds": round(time.perf_counter() - started, 3),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
