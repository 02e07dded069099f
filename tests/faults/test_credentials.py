"""Credentials: a wrong key (401) or a key of the wrong kind (403) fails at once, without retries, with
a message that says what to do; and a planted key never appears anywhere the pipeline writes.

The simulator is told to echo the caller's key back (in error messages, in the HTML maintenance page,
in an unknown field of every row), like a careless server or proxy would, so the search also proves
the client scrubs what comes back. The search is byte for byte over stdout, stderr, every file under
DAGSTER_HOME (run storage, event log, compute logs: a dagster.yaml makes runs persist), the warehouse
directory (DuckDB file, WAL, lock file), and the exceptions an in-process run raises.
"""

from __future__ import annotations

import time
import traceback
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from admin_api_simulator import Faults, Simulator
from pipelines.api import AuthenticationError
from pipelines.ingest import WindowLoadError
from pipelines.sync import SyncRange, run_sync
from tests.faults.helpers import cli_env, files_containing, run_cli, settings_for, sync_args

pytestmark = pytest.mark.faults

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
FIRST, LAST = date(2026, 11, 2), date(2026, 11, 4)
ADMIN_CANARY = "sk-ant-admin01-CANARY7f3e9a1c-planted-for-the-leak-search-Zq4"
NORMAL_CANARY = "sk-ant-api03-CANARY2b8d6e0f-planted-for-the-leak-search-Xw9"


def needles(key: str) -> list[bytes]:
    """The key, and a distinctive piece of it (a truncated or partly masked echo is a leak too)."""
    secret = key.split("CANARY", 1)[1]
    return [key.encode(), ("CANARY" + secret[:12]).encode(), secret[-20:].encode()]


def dagster_home(tmp_path: Path) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return home


def leaks(key: str, texts: dict[str, str], *roots: Path) -> dict[str, list[str]]:
    found = {name: [n.decode() for n in needles(key) if n.decode() in text] for name, text in texts.items()}
    found = {name: hits for name, hits in found.items() if hits}
    for root in roots:
        found |= files_containing(root, needles(key))
    return found


@pytest.mark.parametrize(
    ("key", "status", "error_type", "advice"),
    [
        (ADMIN_CANARY, 401, "authentication_error", "check ANTHROPIC_ADMIN_KEY"),
        (NORMAL_CANARY, 403, "permission_error", "instead of an Admin API key"),
    ],
    ids=["wrong key 401", "wrong kind of key 403"],
)
def test_a_rejected_key_fails_at_once_says_what_to_do_and_is_never_written(key, status, error_type, advice, tmp_path, figures):
    home = dagster_home(tmp_path)
    data = tmp_path / "data"
    with Simulator(seed=7, now=NOW, faults=Faults(echo_key=True)) as simulator:
        started = time.monotonic()
        result = run_cli(*sync_args(FIRST, LAST), env=cli_env(simulator, data / "w.duckdb", key=key, DAGSTER_HOME=str(home)))
        elapsed = time.monotonic() - started
        stats = simulator.stats
    figures.add_requests(stats)
    assert result.returncode == 1
    assert elapsed < 30
    assert stats.total == 1 and stats.by_status == {status: 1}  # the first request failed, nothing retried
    assert "Traceback" not in result.stderr
    [error] = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert f"HTTP {status} {error_type}" in error and advice in error
    assert "<redacted>" in error  # the server echoed the key; the client scrubbed it
    # Dagster recorded the failed run (so the search below covers a real event log), and the key is nowhere.
    assert any(home.rglob("*.db")), "no run storage was written under DAGSTER_HOME"
    request_id = error.rsplit("request-id: ", 1)[1].rstrip(")")
    assert files_containing(home, [request_id.encode()]), "the event log does not hold the failure"
    assert leaks(key, {"stdout": result.stdout, "stderr": result.stderr}, home, tmp_path) == {}


def test_a_working_key_never_reaches_the_output_the_event_log_or_the_warehouse(tmp_path, figures):
    home = dagster_home(tmp_path)
    data = tmp_path / "data"
    faults = Faults(echo_key=True, extra_field="echoed_api_key")  # every row carries the key back
    with Simulator(seed=7, now=NOW, admin_key=ADMIN_CANARY, faults=faults) as simulator:
        result = run_cli(*sync_args(FIRST, LAST), env=cli_env(simulator, data / "w.duckdb", key=ADMIN_CANARY,
                                                              DAGSTER_HOME=str(home)))
        figures.add_requests(simulator.stats)
    assert result.returncode == 0, result.stderr
    assert (data / "w.duckdb").stat().st_size > 0 and len(list(home.rglob("*.db"))) >= 3  # runs were stored
    assert files_containing(data, [b"echoed_api_key"])  # the echoed field was kept (as extras) ...
    assert leaks(ADMIN_CANARY, {"stdout": result.stdout, "stderr": result.stderr}, home, tmp_path) == {}  # ... scrubbed


@pytest.mark.parametrize("accepted", [False, True], ids=["rejected key", "accepted key, echoing HTML page"])
def test_exceptions_of_an_in_process_run_never_hold_the_key(accepted, tmp_path, monkeypatch, figures):
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", ADMIN_CANARY)
    faults = Faults(echo_key=True, malformed="html_200", match_path="usage_report/messages")
    with Simulator(seed=7, now=NOW, faults=faults, admin_key=ADMIN_CANARY if accepted else "sk-ant-admin01-other") as simulator:
        with pytest.raises(WindowLoadError if accepted else AuthenticationError) as caught:
            run_sync(settings_for(simulator, tmp_path / "w.duckdb"), SyncRange(FIRST, LAST),
                     reports=("messages_usage",), entities=False)
        figures.add_requests(simulator.stats)
    exc = caught.value
    assert ("x-api-key: <redacted>" if accepted else "(x-api-key: <redacted>)") in str(exc)  # echoed, scrubbed
    texts = {
        "str": str(exc),
        "repr": repr(exc),
        "traceback": "".join(traceback.format_exception(exc)),
        "attributes": repr(vars(exc)),
    }
    cause = exc
    while cause is not None:  # the whole chain, whatever wraps what
        texts[f"chain {type(cause).__name__}"] = repr(cause) + repr(getattr(cause, "__dict__", {}))
        cause = cause.__cause__ or cause.__context__
    assert leaks(ADMIN_CANARY, texts) == {}


def test_a_key_that_cannot_be_sent_is_refused_before_any_request_without_showing_it(tmp_path, figures):
    with Simulator(seed=7, now=NOW) as simulator:
        for key in (ADMIN_CANARY[:20] + " " + ADMIN_CANARY[20:], ADMIN_CANARY + "\u00e9"):
            result = run_cli(*sync_args(FIRST, LAST), env=cli_env(simulator, tmp_path / "w.duckdb", key=key))
            assert result.returncode == 1
            assert "Traceback" not in result.stderr
            assert "spaces or non-ASCII" in result.stderr and "ANTHROPIC_ADMIN_KEY" in result.stderr
            assert leaks(ADMIN_CANARY, {"stdout": result.stdout, "stderr": result.stderr}) == {}
        assert simulator.stats.total == 0
        figures.add_requests(simulator.stats)
