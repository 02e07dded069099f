"""Malformed responses: a clear error naming endpoint, partition and request-id; nothing of that
partition committed; the other partitions loaded as if nothing happened. Merely new values load and warn.

The simulator malforms the answers of every report endpoint for one UTC day (`match_day`), so one
sync meets the fault in the messages usage report (a 7-day window), the cost report (the whole
range in one window) and Claude Code (that one day). The range spans two usage windows, so the
usage window without the bad day shows that other partitions are unaffected.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, date, datetime, timedelta

import duckdb
import pytest

from admin_api_simulator import DEMO_ADMIN_KEY, MALFORMED_KINDS, Faults, Simulator
from pipelines.sync import SyncRange, run_sync
from tests.faults.helpers import cli_env, compare, run_cli, settings_for, sync_args
from tests.warehouse_helpers import table_contents

pytestmark = pytest.mark.faults

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
FIRST, LAST = date(2026, 10, 6), date(2026, 10, 16)
BAD_DAY = date(2026, 10, 14)
MESSAGES = "/v1/organizations/usage_report/messages"
COST = "/v1/organizations/cost_report"
CLAUDE_CODE = "/v1/organizations/usage_report/claude_code"
# The request window (inclusive days) each endpoint fetches BAD_DAY in, and the tables it feeds.
WINDOWS = {
    MESSAGES: ((date(2026, 10, 13), LAST), ("raw.messages_usage",)),
    COST: ((FIRST, LAST), ("raw.cost_report",)),
    CLAUDE_CODE: ((BAD_DAY, BAD_DAY), ("raw.claude_code_usage", "raw.claude_code_model_usage", "raw.claude_code_tool_actions")),
}
TIME_COLUMN = {"raw.messages_usage": "bucket_start::DATE", "raw.cost_report": "bucket_start::DATE"}
LOG_TABLE = {"raw.messages_usage": "raw.messages_usage", "raw.cost_report": "raw.cost_report",
             "raw.claude_code_usage": "raw.claude_code_usage", "raw.claude_code_model_usage": "raw.claude_code_usage",
             "raw.claude_code_tool_actions": "raw.claude_code_usage"}
REPORT_TABLES = tuple(LOG_TABLE)
FAILING_KINDS = tuple(kind for kind in MALFORMED_KINDS if kind != "unknown_enum")  # a new enum value is not an error
NO_INTEGERS = {COST}  # the cost report has no integer fields: string_number and negative_tokens leave it valid


def span(first: date, last: date) -> str:
    return first.isoformat() if first == last else f"{first}..{last}"


def rows_by_window(path, table: str, first: date, last: date, inside: bool) -> list[tuple]:
    """A table's rows (load time left out) inside or outside [first, last]."""
    day = TIME_COLUMN.get(table, "date")
    condition = f"{day} BETWEEN ? AND ?" if inside else f"{day} NOT BETWEEN ? AND ?"
    with duckdb.connect(str(path), read_only=True) as con:
        columns = [c for (c,) in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema || '.' || table_name = ? "
            "AND column_name <> 'loaded_at' ORDER BY ordinal_position", [table]).fetchall()]
        return sorted(con.execute(f"SELECT {', '.join(columns)} FROM {table} WHERE {condition}", [first, last]).fetchall(), key=repr)


def load_log_days(path, table: str, first: date, last: date) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute("SELECT count(*) FROM raw.load_log WHERE table_name = ? AND partition_date BETWEEN ? AND ?",
                           [table, first, last]).fetchall()[0][0]


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """A fault-free sync of the range: what every partition should hold."""
    path = tmp_path_factory.mktemp("malformed") / "clean.duckdb"
    with pytest.MonkeyPatch.context() as env, Simulator(seed=7, now=NOW) as simulator:
        env.setenv("ANTHROPIC_ADMIN_KEY", DEMO_ADMIN_KEY)
        run_sync(settings_for(simulator, path), SyncRange(FIRST, LAST))
    return path


@pytest.mark.parametrize("kind", FAILING_KINDS)
def test_a_malformed_day_fails_clearly_commits_nothing_of_it_and_spares_the_other_partitions(kind, clean, tmp_path, figures):
    warehouse = tmp_path / "w.duckdb"
    with Simulator(seed=7, now=NOW, faults=Faults(malformed=kind, match_day=BAD_DAY)) as simulator:
        result = run_cli(*sync_args(FIRST, LAST), env=cli_env(simulator, warehouse))
        stats = simulator.stats
    figures.add_requests(stats)
    faulted = {fault.path: fault.request_id for fault in stats.fault_log}  # the last faulted answer per endpoint
    expected_failures = {path for path in WINDOWS if not (path in NO_INTEGERS and kind in ("string_number", "negative_tokens"))}
    assert set(faulted) == set(WINDOWS), stats.fault_log  # the fault reached every report endpoint

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == len(expected_failures), result.stderr  # one clear line per failed report
    for path in expected_failures:
        (first, last), _tables = WINDOWS[path]
        named = [line for line in errors if path in line]
        assert len(named) == 1, (path, errors)
        line = named[0]
        assert f"partitions {span(first, last)}" in line, line  # the partition
        assert f"request-id: {faulted[path]}" in line, line  # the request-id of the bad answer
        assert "Nothing of these days was committed" in line
        assert re.search(r"req_\w+", line)
    for path in set(WINDOWS) - expected_failures:
        assert not any(path in line for line in errors)

    for path, ((first, last), tables) in WINDOWS.items():
        for table in tables:
            inside = rows_by_window(warehouse, table, first, last, inside=True)
            outside = rows_by_window(warehouse, table, first, last, inside=False)
            outside_clean = rows_by_window(clean, table, first, last, inside=False)
            comparison = compare({table: outside_clean}, {table: outside})
            figures.rows_compared += comparison.rows_compared
            figures.mismatches += comparison.mismatches
            assert comparison.mismatches == 0, f"{table}: partitions outside the bad window changed"
            if path in expected_failures:  # nothing of the bad window, not even its load-log rows
                assert inside == [], f"{table}: rows of the failed window were committed"
                assert load_log_days(warehouse, LOG_TABLE[table], first, last) == 0
            else:
                comparison = compare({table: rows_by_window(clean, table, first, last, inside=True)}, {table: inside})
                figures.rows_compared += comparison.rows_compared
                figures.mismatches += comparison.mismatches
                assert comparison.mismatches == 0, table


def test_a_malformed_restated_day_keeps_the_previous_rows_of_its_window(clean, tmp_path, figures, monkeypatch):
    """With data already loaded, a bad answer leaves the window exactly as it was (no partial replace)."""
    warehouse = tmp_path / "w.duckdb"
    shutil.copy(clean, warehouse)
    before = table_contents(warehouse, REPORT_TABLES)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (last_load,), = con.execute("SELECT max(loaded_at) FROM raw.load_log").fetchall()
    with Simulator(seed=7, now=NOW) as simulator:
        simulator.restate(BAD_DAY - timedelta(days=1))  # same usage window: a partial replace would show
        simulator.faults = Faults(malformed="truncated_json", match_day=BAD_DAY, match_path=MESSAGES)
        result = run_cli(*sync_args(FIRST, LAST, "--reports", "messages_usage", "--skip-entities"),
                         env=cli_env(simulator, warehouse))
        figures.add_requests(simulator.stats)
    assert result.returncode == 1
    assert "partitions 2026-10-13..2026-10-16" in result.stderr
    after = table_contents(warehouse, REPORT_TABLES)
    comparison = compare(before, after)
    figures.rows_compared += comparison.rows_compared
    figures.mismatches += comparison.mismatches
    assert comparison.mismatches == 0  # the bad window kept its rows; the good one was re-loaded identically
    with duckdb.connect(str(warehouse), read_only=True) as con:
        reloaded = con.execute(
            "SELECT min(partition_date), max(partition_date), count(*), bool_or(restated) FROM raw.load_log "
            "WHERE table_name = 'raw.messages_usage' AND loaded_at > ?", [last_load]).fetchall()
    assert reloaded == [(date(2026, 10, 6), date(2026, 10, 12), 7, False)]  # only the good window was logged again


def test_new_enum_values_and_unknown_fields_load_and_warn(clean, tmp_path, figures):
    warehouse = tmp_path / "w.duckdb"
    faults = Faults(unknown_enum=True, extra_field="brand_new_field", match_day=BAD_DAY)
    with Simulator(seed=7, now=NOW, faults=faults) as simulator:
        result = run_cli(*sync_args(FIRST, LAST), env=cli_env(simulator, warehouse))
        figures.add_requests(simulator.stats)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "warning:" in line]
    for value in ("'turbo'", "'carbon_offset'", "'reseller'", "brand_new_field"):
        assert any(value in line for line in warnings), (value, warnings)
    assert all("schema drift" in line for line in warnings)

    with duckdb.connect(str(warehouse), read_only=True) as con:
        def one(sql):
            return con.execute(sql).fetchall()[0][0]

        assert one("SELECT count(*) FROM raw.messages_usage WHERE service_tier = 'turbo'") > 0
        assert one("SELECT count(*) FROM raw.cost_report WHERE cost_type = 'carbon_offset'") > 0
        assert one("SELECT count(*) FROM raw.claude_code_usage WHERE customer_type = 'reseller'") > 0
        extras = one("SELECT any_value(extras) FROM raw.messages_usage WHERE extras IS NOT NULL")
        assert json.loads(extras) == {"brand_new_field": "surprise"}
        assert one("SELECT string_agg(schema_warnings, ' ') FROM raw.load_log").count("turbo") >= 1
    # Every row is there: only values changed, so the row counts per table equal the clean run's.
    for table in REPORT_TABLES:
        with duckdb.connect(str(warehouse), read_only=True) as con, duckdb.connect(str(clean), read_only=True) as ref:
            got = con.execute(f"SELECT count(*) FROM {table}").fetchall()
            want = ref.execute(f"SELECT count(*) FROM {table}").fetchall()
        figures.rows_compared += want[0][0]
        assert got == want, table
