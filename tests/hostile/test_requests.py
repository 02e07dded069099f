"""A server cannot hold a sync (and the writer lock) longer, nor make it take more memory, than the
key's holder allows: each request has a deadline (a trickle is cut), each body a size cap (read as
it streams, a gzip bomb too), a walk through pages a deadline, a cursor a length; page bodies are
freed as they are parsed."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import time
import tracemalloc

import pytest

from pipelines.api import (
    AdminApiClient,
    PaginationError,
    RequestLimits,
    RetryPolicy,
    decode_report_envelope,
    iter_report_pages,
)
from admin_api_simulator import Simulator
from tests.conftest import SIMULATOR_NOW, SIMULATOR_SEED
from tests.faults.helpers import LineReader, cli_command, run_cli, sync_args
from tests.hostile.helpers import LAST, assert_refused, hostile_env
from tests.scripted_server import Reply, ScriptedServer, json_reply

pytestmark = pytest.mark.hostile

ORGANIZATION = {"id": "org-hostile", "name": "Hostile org", "type": "organization"}
ONE_REPORT = sync_args(LAST, LAST, "--skip-entities", "--reports", "cost_report")
GIB = 2**30
DEADLINE = 8  # long enough for the second sync to start (and find the lock held) on a busy machine


def test_a_trickling_server_is_cut_at_the_deadline_and_the_next_sync_gets_the_lock(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    with ScriptedServer() as trickler, Simulator(seed=SIMULATOR_SEED, now=SIMULATOR_NOW) as simulator:
        trickler.reply(Reply(body=json.dumps(ORGANIZATION).encode(), headers={"content-type": "application/json"},
                             trickle_seconds=0.5))  # 40 s for the whole body, never 60 s without a byte
        env = hostile_env(None, warehouse, ANTHROPIC_BASE_URL=trickler.url,
                      USAGE_PIPELINE_REQUEST_DEADLINE_SECONDS=str(DEADLINE))
        held = subprocess.Popen(cli_command(*ONE_REPORT), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        while not trickler.requests and held.poll() is None:  # it holds the writer lock once it asks
            time.sleep(0.02)
        asked = time.monotonic()
        waiting = subprocess.Popen(cli_command(*ONE_REPORT, "--wait", "60"), env=hostile_env(simulator, warehouse),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        waiting_lines = LineReader(waiting)
        _, held_stderr = held.communicate(timeout=60)
        cut_after = time.monotonic() - asked
        waiting.wait(timeout=120)
    held_result = subprocess.CompletedProcess(held.args, held.returncode, "", held_stderr)
    assert_refused(held_result, f"longer than {DEADLINE} s", ran=True)
    assert DEADLINE <= cut_after < 25  # the deadline, plus the process's own exit: far from the 40 s of the trickle
    waited = waiting_lines.join()
    assert waiting.returncode == 0, waited
    assert re.search(rf"another sync \(pid {held.pid}\b", waited), waited


def padded_page(size: int) -> bytes:
    """A report page of about `size` bytes: what a server would send to exhaust memory."""
    return b'{"data": [], "has_more": false, "next_page": null, "padding": "' + b"0" * size + b'"}'


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_a_200_mb_page_is_refused_at_the_cap_and_memory_stays_under_1_gib(encoding, tmp_path):
    body = padded_page(200 * 2**20)
    headers = {"content-type": "application/json"}
    if encoding == "gzip":  # 200 MiB once decoded, from about 200 KiB on the wire
        body, headers = gzip.compress(body, compresslevel=1), headers | {"content-encoding": "gzip"}
    with ScriptedServer() as server:
        server.reply(json_reply(ORGANIZATION), Reply(body=body, headers=headers))
        env = hostile_env(None, tmp_path / "w.duckdb", ANTHROPIC_BASE_URL=server.url)
        process = subprocess.Popen(cli_command(*ONE_REPORT), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)
        lines = LineReader(process)
        _, status, usage = os.wait4(process.pid, 0)
        stderr = lines.join()
    assert_refused(subprocess.CompletedProcess(process.args, os.waitstatus_to_exitcode(status), "", stderr),
                   "larger than 64 MiB", "USAGE_PIPELINE_MAX_RESPONSE_MB", ran=True)
    assert usage.ru_maxrss * 1024 < GIB, f"peak RSS {usage.ru_maxrss // 1024} MiB"


def test_an_over_long_cursor_is_one_line(tmp_path):
    with ScriptedServer() as server:
        page = {"data": [], "has_more": True, "next_page": "c" * 1_000_000}
        server.reply(json_reply(ORGANIZATION), json_reply(page))
        result = run_cli(*ONE_REPORT, env=hostile_env(None, tmp_path / "w.duckdb", ANTHROPIC_BASE_URL=server.url))
    assert_refused(result, "next_page is 1000000 characters long", ran=True)
    assert len(server.requests) == 2  # the cursor was never sent back


def fast_client(server: ScriptedServer, **limits) -> AdminApiClient:
    return AdminApiClient("sk-ant-admin01-hostile", server.url, limits=RequestLimits(**limits),
                          retry=RetryPolicy(backoff_base=0.001, jitter=0))


def test_endless_distinct_cursors_are_cut_by_the_pages_deadline():
    with ScriptedServer() as server:
        server.reply(*[json_reply({"data": [], "has_more": True, "next_page": f"c{n}"}) for n in range(100)])
        started = time.monotonic()
        with fast_client(server, pages_deadline_seconds=1.0) as client, pytest.raises(PaginationError) as caught:
            for _ in iter_report_pages(client, "/v1/endless", [], decode_report_envelope):
                time.sleep(0.1)  # the caller's work on a page counts too
    assert "took more than 1 s" in str(caught.value) and "USAGE_PIPELINE_PAGES_DEADLINE_SECONDS" in str(caught.value)
    assert time.monotonic() - started < 3
    assert len(server.requests) < 20


def test_page_bodies_do_not_pile_up_in_memory():
    size, pages = 8 * 2**20, 12
    chained = [f'"has_more": {"true" if n < pages - 1 else "false"}, "next_page": "p{n}"' for n in range(pages)]
    bodies = [padded_page(size).replace(b'"has_more": false, "next_page": null', link.encode()) for link in chained]
    with ScriptedServer() as server:
        server.reply(*[Reply(body=body, headers={"content-type": "application/json"}) for body in bodies])
        with fast_client(server) as client:
            tracemalloc.start()
            try:
                walked = sum(1 for _ in iter_report_pages(client, "/v1/big", [], decode_report_envelope))
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
    assert walked == pages
    assert peak < 5 * size, f"{peak / 2**20:.0f} MiB at peak for {pages} pages of {size / 2**20:.0f} MiB"
