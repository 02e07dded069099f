"""Cost centers and chargeback end to end: the simulator over real HTTP, a mapping covering part of the
organization (a workspace, two people, one of whom moves team mid-month, and a service account's key),
`run_sync` on the legacy reports and on the Analytics API, then the mart, the FOCUS tags and
`usage-pipeline chargeback`; plus the mapping's validation, one line naming file:line.
"""

from __future__ import annotations

import csv
import shutil
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from admin_api_simulator import DEMO_ADMIN_KEY, Simulator
from pipelines.cli import main
from pipelines.cost_centers import read_cost_centers
from pipelines.marts import build_marts
from pipelines.settings import ConfigError, Settings
from pipelines.sync import SyncRange, run_sync
from pipelines.warehouse import connect
from tests.conftest import SIMULATOR_NOW, SIMULATOR_SEED

FIRST, LAST = date(2026, 10, 20), date(2026, 11, 10)  # across a month's end
MOVE_DAY = date(2026, 10, 28)  # the day Ada joins Data Platform


@pytest.fixture(scope="module")
def org_simulator():
    with Simulator(seed=SIMULATOR_SEED, port=0, now=SIMULATOR_NOW) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def subjects(org_simulator) -> dict[str, str]:
    """The mapped part of the organization, picked from the simulator's cast."""
    cast = org_simulator.org.cast
    production = next(w for w in cast.workspaces if w.name == "Production")
    service_key = next(k for k in cast.api_keys if k.listed and k.created_by and k.created_by.type == "service_account"
                       and k.workspace_id != production.id)
    ada = next(u for u in cast.users if u.email.startswith("ada.okafor"))
    sofia = next(u for u in cast.users if u.email.startswith("sofia.rossi"))
    return {"production": production.id, "service_key": service_key.id, "ada_email": ada.email,
            "ada": ada.id, "sofia": sofia.id}


def write_mapping(path: Path, subjects: dict[str, str]) -> Path:
    path.write_text(
        "kind,id,team,cost_center,valid_from,valid_to\n"
        f"workspace,{subjects['production']},Platform,CC-100,2025-01-01,\n"
        f"user,{subjects['ada_email'].upper()},Search,CC-200,2025-01-01,{MOVE_DAY}\n"
        f"user,{subjects['ada_email']},Data Platform,CC-300,{MOVE_DAY},\n"
        f"user,{subjects['sofia']},Regulated,CC-400,2025-01-01,\n"
        f"api_key,{subjects['service_key']},Batch,CC-500,2025-01-01,\n"
        "workspace,wrkspc_not_in_this_org,Nobody,CC-999,2025-01-01,\n"
    )
    return path


@pytest.fixture(scope="module", params=["legacy", "auto"])
def synced(request, org_simulator, subjects, tmp_path_factory) -> Settings:
    """A warehouse synced with the mapping from the start (pinned to the legacy reports, or auto: the
    Analytics API on these days), its marts built and its serving copy published."""
    folder = tmp_path_factory.mktemp(f"cost_centers_{request.param}")
    settings = Settings.from_mapping({
        "base_url": org_simulator.base_url, "warehouse_path": str(folder / "warehouse.duckdb"),
        "start_date": "2025-01-01", "requests_per_minute": 0, "source": request.param,
        "cost_centers_file": str(write_mapping(folder / "cost-centers.csv", subjects)),
    })
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ANTHROPIC_ADMIN_KEY", DEMO_ADMIN_KEY)
        run_sync(settings, SyncRange(FIRST, LAST))
    return settings


def query(settings: Settings, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(settings.warehouse_path, read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def by_day(rows: list[tuple]) -> dict[date, Decimal]:
    return {day: cost for day, cost in rows}


# ##### THE MART


def test_the_mart_sums_to_the_bill_per_day_and_workspace(synced):
    differences = query(synced, """
        SELECT date, workspace_id, b.cost_usd, c.cost_usd
        FROM (SELECT date, workspace_id, sum(cost_usd) AS cost_usd FROM marts.workspace_daily_cost GROUP BY ALL) AS b
        FULL JOIN (SELECT date, workspace_id, sum(cost_usd) AS cost_usd FROM marts.cost_center_daily_cost GROUP BY ALL) AS c
            USING (date, workspace_id)
        WHERE b.cost_usd IS DISTINCT FROM c.cost_usd""")
    assert differences == []
    assert query(synced, "SELECT count(DISTINCT date) FROM marts.cost_center_daily_cost") == [(22,)]
    failed = query(synced, "SELECT check_key FROM meta.check_results WHERE violations > 0 AND check_key LIKE '%cost_center%'")
    assert failed == [("marts.cost_centers:cost_center_unknown_ids",)]  # the planted unknown workspace only


def test_unmapped_cost_is_explicit(synced, subjects):
    unmapped = query(synced, """
        SELECT DISTINCT team, unmapped_reason FROM marts.cost_center_daily_cost WHERE cost_center IS NULL""")
    assert unmapped == [(None, "no_mapping")]
    # an unmapped workspace's cost is unmapped except for the people and keys mapped on their own
    research = query(synced, """
        SELECT coalesce(cost_center, 'unmapped'), sum(cost_usd) > 0 FROM marts.cost_center_daily_cost
        WHERE workspace_name = 'Research' GROUP BY 1""")
    assert ("unmapped", True) in research
    mapped = query(synced, "SELECT count(*) FROM marts.cost_center_daily_cost WHERE unmapped_reason IS NOT NULL "
                           "AND cost_center IS NOT NULL")
    assert mapped == [(0,)]


def test_a_person_who_moves_team_is_split_at_the_right_day(synced, subjects):
    ada = by_day(query(synced, "SELECT date, sum(cost_usd) FROM marts.user_daily_cost WHERE user_id = ? GROUP BY 1",
                       [subjects["ada"]]))
    assert any(day < MOVE_DAY for day in ada) and any(day >= MOVE_DAY for day in ada)
    for center, days in (("CC-200", [d for d in ada if d < MOVE_DAY]), ("CC-300", [d for d in ada if d >= MOVE_DAY])):
        rows = by_day(query(synced, "SELECT date, sum(cost_usd) FROM marts.cost_center_daily_cost "
                                    "WHERE cost_center = ? GROUP BY 1", [center]))
        assert rows == {day: ada[day] for day in days}, center
    teams = dict(query(synced, "SELECT DISTINCT cost_center, team FROM marts.cost_center_daily_cost "
                               "WHERE cost_center IN ('CC-200', 'CC-300')"))
    assert teams == {"CC-200": "Search", "CC-300": "Data Platform"}


def test_precedence_user_then_key_then_workspace(synced, subjects):
    sofia = query(synced, "SELECT sum(cost_usd) FROM marts.user_daily_cost WHERE user_id = ?", [subjects["sofia"]])
    assert query(synced, "SELECT sum(cost_usd) FROM marts.cost_center_daily_cost WHERE cost_center = 'CC-400'") == sofia
    key_cost = query(synced, """
        SELECT sum(cost_usd) FROM (
            SELECT cost_usd FROM marts.cost_allocation WHERE api_key_id = ?
            UNION ALL
            SELECT cost_usd FROM marts.actor_daily_cost WHERE actor_id = ? OR api_key_id = ?)""",
        [subjects["service_key"]] * 3)
    assert key_cost[0][0] > 0
    assert query(synced, "SELECT sum(cost_usd) FROM marts.cost_center_daily_cost WHERE cost_center = 'CC-500'") == key_cost
    # Production goes to its workspace's cost center, less what its mapped people and keys spent there
    production = query(synced, """
        SELECT sum(cost_usd) FILTER (cost_center = 'CC-100'),
               sum(cost_usd) FILTER (cost_center IS DISTINCT FROM 'CC-100'),
               count(*) FILTER (cost_center IS NULL)
        FROM marts.cost_center_daily_cost WHERE workspace_id = ?""", [subjects["production"]])
    expected_elsewhere = query(synced, """
        SELECT coalesce(sum(cost_usd), 0) FROM marts.user_daily_cost
        WHERE workspace_id = ? AND (user_id = ? OR user_id = ?)""",
        [subjects["production"], subjects["ada"], subjects["sofia"]])
    assert production[0][0] > 0 and production[0][2] == 0
    assert (production[0][1] or 0) == expected_elsewhere[0][0]


def test_the_focus_tags_carry_the_cost_center(synced):
    focus = dict(query(synced, """
        SELECT coalesce(Tags->>'anthropic/cost_center', 'unmapped'), sum(BilledCost) FROM marts.focus_costs
        WHERE ChargeClass IS NULL GROUP BY 1"""))
    mart = dict(query(synced, "SELECT coalesce(cost_center, 'unmapped'), sum(cost_usd) FROM marts.cost_center_daily_cost "
                              "GROUP BY 1"))
    assert focus == mart
    assert query(synced, "SELECT DISTINCT Tags->>'anthropic/team' FROM marts.focus_costs "
                         "WHERE Tags->>'anthropic/cost_center' = 'CC-300'") == [("Data Platform",)]


def test_a_mapping_change_rebuilds_history(synced, subjects, tmp_path):
    copy = tmp_path / "copy.duckdb"
    shutil.copy(synced.warehouse_path, copy)
    mapping = tmp_path / "changed.csv"
    mapping.write_text(f"kind,id,team,cost_center,valid_from,valid_to\nworkspace,{subjects['production']},Web,CC-700,"
                       "2025-01-01,\n")
    with connect(copy) as con:
        build = build_marts(con, cost_centers=read_cost_centers(mapping))
        assert build.is_full and "cost centers" in build.reason
        centers = con.execute("SELECT DISTINCT cost_center FROM marts.cost_center_daily_cost ORDER BY 1").fetchall()
        assert centers == [("CC-700",), (None,)]
        assert con.execute("SELECT min(date) FROM marts.cost_center_daily_cost WHERE cost_center = 'CC-700'").fetchone() == (FIRST,)


# ##### CHARGEBACK


def test_the_chargeback_total_is_the_months_bill(synced, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WAREHOUSE_PATH", synced.warehouse_path)
    output = tmp_path / "chargeback.csv"
    assert main(["chargeback", "--month", "2026-10", "--output", str(output)]) == 0
    rows = list(csv.DictReader(output.open()))
    (bill,) = query(synced, "SELECT sum(cost_usd) FROM marts.workspace_daily_cost "
                            "WHERE date >= DATE '2026-10-01' AND date < DATE '2026-11-01'")[0]
    assert [row for row in rows if row["row_type"] == "total"] == [
        {"row_type": "total", "cost_center": "", "team": "", "workspace_id": "", "workspace_name": "",
         "unmapped_reason": "", "cost_usd": str(bill)}]
    lines = [row for row in rows if row["row_type"] == "line"]
    assert sum(Decimal(row["cost_usd"]) for row in lines) == bill
    centers = defaultdict(Decimal)
    for row in lines:
        centers[row["cost_center"]] += Decimal(row["cost_usd"])
    totals = {row["cost_center"]: Decimal(row["cost_usd"]) for row in rows if row["row_type"] == "cost_center_total"}
    assert totals == centers and {"CC-100", "CC-200", "CC-300", ""} <= totals.keys()
    assert rows[-2]["cost_center"] == ""  # unmapped last, before the total
    assert str(bill) in capsys.readouterr().err


@pytest.mark.parametrize(("month", "message"), [
    ("2026-13", "error: --month must be a month as YYYY-MM, got '2026-13'"),
    ("2025-03", "error: no cost for 2025-03 in the serving copy: sync that month first"),
])
def test_chargeback_errors_are_one_line(synced, tmp_path, monkeypatch, capsys, month, message):
    monkeypatch.setenv("WAREHOUSE_PATH", synced.warehouse_path)
    assert main(["chargeback", "--month", month, "--output", str(tmp_path / "c.csv")]) == 1
    assert capsys.readouterr().err == message + "\n"
    assert not (tmp_path / "c.csv").exists()


# ##### VALIDATION


@pytest.mark.parametrize(("rows", "message"), [
    ("team,x,T,C,2026-01-01,", ":3: unknown kind 'team'; use one of user, api_key, workspace"),
    ("user,a@x.example,T,C,2026-02-30,", ":3: bad date in valid_from: '2026-02-30' (use YYYY-MM-DD)"),
    ("user,a@x.example,T,C,2026-01-01,March", ":3: bad date in valid_to: 'March' (use YYYY-MM-DD)"),
    ("user,a@x.example,,C,2026-01-01,", ":3: missing team"),
    ("user,a@x.example,T,,2026-01-01,", ":3: missing cost_center"),
    ("user,a@x.example,T,C,2026-03-01,2026-03-01", ":3: valid_to 2026-03-01 is not after valid_from 2026-03-01"),
    ("user,A@X.example,T,C,2026-01-15,", ":3: user a@x.example from 2026-01-15 overlaps"),
])
def test_a_bad_mapping_is_one_line_naming_file_and_line(tmp_path, rows, message):
    path = tmp_path / "cost-centers.csv"
    path.write_text(f"kind,id,team,cost_center,valid_from,valid_to\nuser,a@x.example,T,C,2025-01-01,2026-02-01\n{rows}\n")
    with pytest.raises(ConfigError) as caught:
        read_cost_centers(path)
    assert str(caught.value).startswith(f"{path}{message}")
    assert "\n" not in str(caught.value)


def test_a_bad_mapping_stops_the_sync_before_any_work(tmp_path, monkeypatch, capsys):
    mapping = tmp_path / "cost-centers.csv"
    mapping.write_text("kind,id,team,cost_center,valid_from,valid_to\nproduct,x,T,C,2026-01-01,\n")
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", DEMO_ADMIN_KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")  # nothing listens: no request may be needed
    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("USAGE_PIPELINE_COST_CENTERS_FILE", str(mapping))
    assert main(["sync", "--start", "2026-10-01", "--end", "2026-10-01"]) == 1
    assert capsys.readouterr().err == (f"error: {mapping}:2: unknown kind 'product'; use one of user, api_key, "
                                       "workspace\n")
    assert not (tmp_path / "warehouse.duckdb").exists()


def test_a_missing_mapping_file_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match=r"^cannot read cost centers file .*missing\.csv: "):
        read_cost_centers(tmp_path / "missing.csv")
