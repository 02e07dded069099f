"""Cost centers and chargeback end to end: the simulator over real HTTP, a mapping covering part of the
organization (a workspace, two people, one of whom moves team mid-month, and a service account's key),
`run_sync` on the legacy reports and on the Analytics API, then the mart, the FOCUS tags and
`usage-pipeline chargeback`; the same mapping inline in the config file; the actor and product kinds on
Analytics API days; plus the mapping's validation, one line naming file:line.
"""

from __future__ import annotations

import csv
import os
import shutil
import stat
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
from pipelines.settings import ConfigError, CostCenterEntry, Settings
from pipelines.sync import SyncRange, run_sync
from pipelines.warehouse import connect, read_sql
from tests.conftest import SIMULATOR_NOW, SIMULATOR_SEED
from tests.test_cli import run_cli

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
    service_account = min(s.service_account_id for s in cast.traffic_sources if s.service_account_id)
    return {"production": production.id, "service_key": service_key.id, "ada_email": ada.email,
            "ada": ada.id, "sofia": sofia.id, "service_account": service_account}


def mapping_rows(subjects: dict[str, str]) -> list[tuple[str, str, str, str, str, str]]:
    """(kind, id, team, cost_center, valid_from, valid_to) of the test mapping."""
    return [
        ("workspace", subjects["production"], "Platform", "CC-100", "2025-01-01", ""),
        ("user", subjects["ada_email"].upper(), "Search", "CC-200", "2025-01-01", str(MOVE_DAY)),
        ("user", subjects["ada_email"], "Data Platform", "CC-300", str(MOVE_DAY), ""),
        ("user", subjects["sofia"], "Regulated", "CC-400", "2025-01-01", ""),
        ("api_key", subjects["service_key"], "Batch", "CC-500", "2025-01-01", ""),
        ("workspace", "wrkspc_not_in_this_org", "Nobody", "CC-999", "2025-01-01", ""),
    ]


def write_mapping(path: Path, subjects: dict[str, str]) -> Path:
    lines = ["kind,id,team,cost_center,valid_from,valid_to", *(",".join(row) for row in mapping_rows(subjects))]
    path.write_text("\n".join(lines) + "\n")
    return path


def toml_entries(rows: list[tuple[str, ...]]) -> str:
    """The rows as [[cost_centers]] tables (valid_to left out while in force, valid_from a TOML date)."""
    return "".join(
        f'\n[[cost_centers]]\nkind = "{kind}"\nid = "{id_}"\nteam = "{team}"\ncost_center = "{center}"\n'
        f"valid_from = {valid_from}\n" + (f'valid_to = "{valid_to}"\n' if valid_to else "")
        for kind, id_, team, center, valid_from, valid_to in rows
    )


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


def bill_differences(warehouse) -> list[tuple]:
    """The days and workspaces whose cost-center rows do not sum to the bill."""
    return query(warehouse, """
        SELECT date, workspace_id, b.cost_usd, c.cost_usd
        FROM (SELECT date, workspace_id, sum(cost_usd) AS cost_usd FROM marts.workspace_daily_cost GROUP BY ALL) AS b
        FULL JOIN (SELECT date, workspace_id, sum(cost_usd) AS cost_usd FROM marts.cost_center_daily_cost GROUP BY ALL) AS c
            USING (date, workspace_id)
        WHERE b.cost_usd IS DISTINCT FROM c.cost_usd""")


# ##### THE MART


def test_the_mart_sums_to_the_bill_per_day_and_workspace(synced):
    assert bill_differences(synced) == []
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


# ##### INLINE MAPPING, ACTOR AND PRODUCT KINDS


def test_an_inline_mapping_gives_the_same_mart_and_chargeback_as_the_csv(synced, subjects, tmp_path, monkeypatch):
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(synced.warehouse_path, copy)
    rows = mapping_rows(subjects)
    (tmp_path / "part.csv").write_text("kind,id,team,cost_center,valid_from,valid_to\n" + ",".join(rows[0]) + "\n")
    config = tmp_path / "usage-pipeline.toml"  # one row from the CSV it names, the others inline
    config.write_text(f'warehouse_path = "{copy}"\ncost_centers_file = "{tmp_path / "part.csv"}"\n'
                      + toml_entries(rows[1:]))
    settings = Settings.load({}, config)
    run_sync(settings, SyncRange(FIRST, LAST), reports=(), entities=False)  # the marts and the serving copy only
    mart = "SELECT * FROM marts.cost_center_daily_cost ORDER BY ALL"
    assert query(settings, mart) == query(synced, mart)
    lines = query(settings, "SELECT kind, source_line FROM marts.cost_centers ORDER BY valid_from, kind, subject")
    assert sorted(lines) == sorted([("workspace", f"{tmp_path / 'part.csv'}:2"), ("user", f"{config}:4"),
                                    ("user", f"{config}:12"), ("user", f"{config}:19"), ("api_key", f"{config}:26"),
                                    ("workspace", f"{config}:33")])
    outputs = []
    for warehouse in (synced.warehouse_path, copy):
        monkeypatch.setenv("WAREHOUSE_PATH", str(warehouse))
        outputs.append(tmp_path / f"chargeback-{len(outputs)}.csv")
        assert main(["chargeback", "--month", "2026-10", "--output", str(outputs[-1])]) == 0
    assert outputs[0].read_text() == outputs[1].read_text()


# service accounts, federated identities and products exist on Analytics API days only
ANALYTICS_DAYS = pytest.mark.parametrize("synced", ["auto"], indirect=True)


@pytest.fixture(scope="module")
def actors_and_products(synced, org_simulator, subjects, tmp_path_factory) -> Settings:
    """The Analytics API warehouse rebuilt with the mapping plus a service account, a federated identity
    and a product (Batches, which mapped people and the mapped key also use)."""
    folder = tmp_path_factory.mktemp("actors_and_products")
    shutil.copy(synced.warehouse_path, folder / "warehouse.duckdb")
    settings = synced.model_copy(update={"warehouse_path": str(folder / "warehouse.duckdb")})
    views = org_simulator.org.analytics
    extra = [
        ("service_account", subjects["service_account"], "Workloads", "CC-600", "2025-01-01", ""),
        ("federated", views.actors["federated:aws"]["subject"], "Cloud", "CC-610", "2025-01-01", ""),
        ("product", "message_batches_api", "Offline", "CC-630", "2025-01-01", ""),
    ]
    with connect(settings.warehouse_path) as con:
        con.execute("DROP TABLE marts.focus_costs")  # a new ledger: frozen days would keep their first tags
        build_marts(con, cost_centers=read_cost_centers(None, [
            CostCenterEntry(f"inline:{n}", tuple(zip(("kind", "id", "team", "cost_center", "valid_from", "valid_to"),
                                                     row)))
            for n, row in enumerate(mapping_rows(subjects) + extra)]))
    return settings


@ANALYTICS_DAYS
def test_service_account_and_federated_mappings_charge_exactly_those_actors(actors_and_products, org_simulator,
                                                                             subjects):
    aws = org_simulator.org.analytics.actors["federated:aws"]["subject"]
    for center, condition, value in (("CC-600", "actor_id = ?", subjects["service_account"]),
                                     ("CC-610", "federated_subject = ?", aws)):
        spent = query(actors_and_products, f"SELECT sum(cost_usd) FROM marts.actor_daily_cost WHERE {condition}", [value])
        assert spent[0][0] > 0
        assert query(actors_and_products, "SELECT sum(cost_usd) FROM marts.cost_center_daily_cost "
                                          "WHERE cost_center = ?", [center]) == spent, center
        tagged = query(actors_and_products, "SELECT sum(BilledCost) FROM marts.focus_costs "
                                            "WHERE Tags->>'anthropic/cost_center' = ?", [center])
        assert tagged == spent, center


@ANALYTICS_DAYS
def test_a_product_mapping_charges_that_products_cost_below_actors_and_keys(actors_and_products, subjects):
    rows = query(actors_and_products, """
        SELECT mapped_by, cost_center, sum(cost_usd) FROM intermediate.int_cost_center_cost
        WHERE product = 'message_batches_api' GROUP BY ALL""")
    centers = {(mapped_by, center) for mapped_by, center, _ in rows}
    assert {("product", "CC-630"), ("api_key", "CC-500")} <= centers  # the mapped key keeps its own
    assert {"user", "service_account"} <= {mapped_by for mapped_by, _ in centers}  # and so do people and accounts
    (product_total,) = query(actors_and_products, "SELECT sum(cost_usd) FROM marts.product_daily_usage_cost "
                                                  "WHERE product = 'message_batches_api'")[0]
    assert sum(cost for *_, cost in rows) == product_total  # the chargeback rows are the product's whole cost
    assert query(actors_and_products, "SELECT sum(cost_usd) FROM marts.cost_center_daily_cost "
                                      "WHERE cost_center = 'CC-630'") == [
        (sum(cost for mapped_by, _, cost in rows if mapped_by == "product"),)]
    # the precedence, row by row: actor > API key > product > workspace
    periods = defaultdict(list)
    for kind, subject, center, valid_from, valid_to in query(
            actors_and_products, "SELECT kind, subject, cost_center, valid_from, valid_to FROM marts.cost_centers"):
        periods[kind, subject].append((center, valid_from, valid_to))

    def center_of(day, *candidates):
        for candidate in candidates:
            for center, valid_from, valid_to in periods[candidate]:
                if valid_from <= day and (valid_to is None or day < valid_to):
                    return center
        return None

    for day, user_id, email, account, federated, key, product, workspace, center in query(actors_and_products, """
            SELECT date, user_id, user_email, service_account_id, federated_subject, api_key_id, product, workspace_id,
                   cost_center FROM intermediate.int_cost_center_cost"""):
        assert center == center_of(day, ("user", user_id), ("user", email), ("service_account", account),
                                   ("federated", federated), ("api_key", key), ("product", product),
                                   ("workspace", workspace))


@ANALYTICS_DAYS
def test_the_sums_hold_with_every_kind_and_split_charges_are_tagged(actors_and_products):
    assert bill_differences(actors_and_products) == []
    assert query(actors_and_products, "SELECT sum(BilledCost) FROM marts.focus_costs") == query(
        actors_and_products, "SELECT sum(cost_usd) FROM marts.workspace_daily_cost")
    split = query(actors_and_products, """
        SELECT count(*), count(Tags->>'anthropic/cost_center') FROM marts.focus_costs
        WHERE Tags->>'anthropic/cost_center_split_by' = 'product'""")
    assert split[0][0] > 0 and split[0][1] == 0  # an actor whose Batches cost goes elsewhere than its other products


@ANALYTICS_DAYS
def test_the_chargeback_grouping_bills_what_the_actor_grouping_bills(synced, subjects, tmp_path):
    by_grouping = query(synced, """
        SELECT count(*) FROM (
            SELECT CAST(bucket_start AS DATE) AS day, sum(amount_cents) FILTER (grouping = 'actor') AS actor,
                   sum(amount_cents) FILTER (grouping = 'chargeback') AS chargeback
            FROM raw.analytics_cost GROUP BY 1)
        WHERE actor IS DISTINCT FROM chargeback""")
    assert by_grouping == [(0,)]
    # a day loaded before the chargeback grouping existed is charged from the actor grouping, without product
    copy = tmp_path / "copy.duckdb"
    shutil.copy(synced.warehouse_path, copy)
    with connect(copy) as con:
        con.execute("DELETE FROM raw.analytics_cost WHERE grouping = 'chargeback' AND bucket_start < '2026-11-01'")
        build_marts(con, cost_centers=read_cost_centers(write_mapping(tmp_path / "m.csv", subjects)))
        before, after = con.execute("""
            SELECT sum(cost_usd) FILTER (date < '2026-11-01' AND product IS NULL),
                   sum(cost_usd) FILTER (date >= '2026-11-01' AND product IS NOT NULL)
            FROM intermediate.int_cost_center_cost""").fetchone()
        assert before > 0 and after > 0
        assert con.execute(read_sql("checks/cost_center_cost_sums_to_bill.sql")).fetchall() == []


@ANALYTICS_DAYS
def test_unknown_subjects_of_every_kind_are_named(actors_and_products, tmp_path):
    copy = tmp_path / "copy.duckdb"
    shutil.copy(actors_and_products.warehouse_path, copy)
    mapping = tmp_path / "unknown.csv"
    mapping.write_text("kind,id,team,cost_center,valid_from,valid_to\n"
                       "service_account,svac_never_seen,T,C,2025-01-01,\n"
                       "federated,arn:aws:iam::000000000000:role/nobody,T,C,2025-01-01,\n"
                       "product,claude_design,T,C,2025-01-01,\n"
                       "product,messages_api,T,C,2025-01-01,\n")
    with connect(copy) as con:
        build_marts(con, cost_centers=read_cost_centers(mapping))
        unknown = con.execute(read_sql("checks/cost_center_unknown_ids.sql")).fetchall()
    assert [(line, kind) for line, kind, *_ in unknown] == [
        (f"{mapping}:2", "service_account"), (f"{mapping}:3", "federated"), (f"{mapping}:4", "product")]


def test_a_person_mapped_by_user_id_and_by_email_over_one_period_fails_a_check_naming_both_lines(synced, subjects,
                                                                                                  tmp_path):
    copy = tmp_path / "copy.duckdb"
    shutil.copy(synced.warehouse_path, copy)
    mapping = write_mapping(tmp_path / "m.csv", subjects)
    with mapping.open("a") as rows:  # Ada by ID, overlapping her email's row from MOVE_DAY on
        rows.write(f"user,{subjects['ada']},Ads,CC-700,2026-11-01,\n")
    with connect(copy) as con:
        build_marts(con, cost_centers=read_cost_centers(mapping))
        overlaps = con.execute(read_sql("checks/cost_center_person_overlaps.sql")).fetchall()
        charged = con.execute("SELECT DISTINCT cost_center FROM marts.cost_center_daily_cost "
                              "WHERE date >= '2026-11-01' AND cost_center IN ('CC-300', 'CC-700')").fetchall()
    assert [(line, other, since) for line, other, _, _, _, _, since in overlaps] == [
        (f"{mapping}:4", f"{mapping}:8", date(2026, 11, 1))]
    assert charged == [("CC-700",)]  # until the mapping is fixed, the user ID row wins


# ##### CHARGEBACK


def test_a_sync_prints_the_file_and_line_of_the_first_unknown_subjects(org_simulator, tmp_path):
    """Seven unknown workspaces on lines 2..8: the warning names the first five by file:line, then the rest's count."""
    mapping = tmp_path / "cost-centers.csv"
    mapping.write_text("kind,id,team,cost_center,valid_from,valid_to\n"
                       + "".join(f"workspace,wrkspc_unknown_{line},T,CC-{line},2025-01-01,\n" for line in range(2, 9)))
    result = run_cli("sync", "--start", "2026-11-01", "--end", "2026-11-02", cwd=tmp_path, env={
        "ANTHROPIC_ADMIN_KEY": DEMO_ADMIN_KEY, "ANTHROPIC_BASE_URL": org_simulator.base_url,
        "WAREHOUSE_PATH": str(tmp_path / "w.duckdb"), "USAGE_PIPELINE_REQUESTS_PER_MINUTE": "0",
        "USAGE_PIPELINE_COST_CENTERS_FILE": str(mapping)})
    assert result.returncode == 0, result.stderr
    lines = [line.split(" ", 1)[1] for line in result.stderr.splitlines()]  # without the time
    first = lines.index("check marts/cost_centers cost_center_unknown_ids (WARN): 7 row(s) flagged")
    assert lines[first + 1:first + 7] == [
        *(f"  source_line={mapping}:{line}, kind=workspace, subject=wrkspc_unknown_{line}, team=T, cost_center=CC-{line}"
          for line in range(2, 7)),
        "  ... and 2 more",
    ]


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


@pytest.fixture
def usual_umask():
    """A shell's usual umask (022): a file comes out owner-only only if the command makes it so."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_the_chargeback_csv_is_owner_only_and_dash_is_standard_output(synced, tmp_path, monkeypatch, capsys,
                                                                      usual_umask):
    monkeypatch.setenv("WAREHOUSE_PATH", synced.warehouse_path)
    monkeypatch.chdir(tmp_path)
    output = tmp_path / "chargeback.csv"
    assert main(["chargeback", "--month", "2026-10", "--output", str(output)]) == 0
    assert stat.S_IMODE(output.stat().st_mode) == 0o600
    capsys.readouterr()
    assert main(["chargeback", "--month", "2026-10", "--output", "-"]) == 0
    printed = capsys.readouterr()
    assert printed.out == output.read_text() and "written to standard output" in printed.err
    assert not (tmp_path / "-").exists()


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
    ("team,x,T,C,2026-01-01,", ":3: unknown kind 'team'; use one of user, service_account, federated, api_key, "
                               "product, workspace"),
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


def test_a_csv_saved_with_a_byte_order_mark_is_read(tmp_path):
    """Excel's "CSV UTF-8" starts with one."""
    path = tmp_path / "cost-centers.csv"
    path.write_text("\ufeffkind,id,team,cost_center,valid_from,valid_to\nworkspace,wrkspc_01,T,C,2025-01-01,\n",
                    encoding="utf-8")
    assert read_cost_centers(path).select("kind", "subject").rows() == [("workspace", "wrkspc_01")]


def test_an_unknown_column_is_refused_like_an_unknown_inline_key(tmp_path):
    path = tmp_path / "cost-centers.csv"
    path.write_text("kind,id,team,cost_center,valid_from,valid_to,notes\nworkspace,wrkspc_01,T,C,2025-01-01,,x\n")
    with pytest.raises(ConfigError) as caught:
        read_cost_centers(path)
    assert str(caught.value) == (f"{path}:1: unknown column(s) 'notes'; the header is "
                                 "kind,id,team,cost_center,valid_from,valid_to")


def test_a_bad_mapping_stops_the_sync_before_any_work(tmp_path, monkeypatch, capsys):
    mapping = tmp_path / "cost-centers.csv"
    mapping.write_text("kind,id,team,cost_center,valid_from,valid_to\nteam,x,T,C,2026-01-01,\n")
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", DEMO_ADMIN_KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")  # nothing listens: no request may be needed
    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("USAGE_PIPELINE_COST_CENTERS_FILE", str(mapping))
    assert main(["sync", "--start", "2026-10-01", "--end", "2026-10-01"]) == 1
    assert capsys.readouterr().err == (f"error: {mapping}:2: unknown kind 'team'; use one of user, service_account, "
                                       "federated, api_key, product, workspace\n")
    assert not (tmp_path / "warehouse.duckdb").exists()


@pytest.mark.parametrize(("entry", "message"), [
    ('kind = "user"\nid = "a@x.example"\nteam = "T"\ncost_center = "C"\nvalid_from = 2026-01-01\nnote = "x"\n',
     ":8: unknown key(s) note; use kind, id, team, cost_center, valid_from, valid_to"),
    ('kind = "product"\nid = "claude_code"\nteam = "T"\ncost_center = "C"\n', ":8: missing valid_from"),
    ('kind = "user"\nid = "A@x.example"\nteam = "T"\ncost_center = "C"\nvalid_from = 2026-01-15\n',
     ":8: user a@x.example from 2026-01-15 overlaps "),
])
def test_a_bad_inline_entry_names_the_config_file_and_line(tmp_path, entry, message):
    csv_file = tmp_path / "cost-centers.csv"
    csv_file.write_text("kind,id,team,cost_center,valid_from,valid_to\nuser,a@x.example,T,C,2025-01-01,2026-02-01\n")
    config = tmp_path / "usage-pipeline.toml"
    config.write_text(f'cost_centers_file = "{csv_file}"\n[[cost_centers]]\nkind = "workspace"\nid = "w"\n'
                      f'team = "T"\ncost_center = "C"\nvalid_from = 2025-01-01\n[[cost_centers]]\n{entry}')  # line 8
    settings = Settings.load({}, config)
    with pytest.raises(ConfigError) as caught:
        read_cost_centers(settings.cost_centers_file, settings.cost_centers)
    assert str(caught.value).startswith(f"{config}{message}")
    if "overlaps" in message:  # across the two sources
        assert str(caught.value).endswith(f"overlaps {csv_file}:2 (valid_to is exclusive: end the earlier row on "
                                          "2026-01-15)")


def test_a_bad_inline_entry_stops_the_sync_before_any_work(tmp_path, monkeypatch, capsys):
    config = tmp_path / "usage-pipeline.toml"
    config.write_text(f'warehouse_path = "{tmp_path / "warehouse.duckdb"}"\n\n[[cost_centers]]\nkind = "team"\n')
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", DEMO_ADMIN_KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")  # nothing listens: no request may be needed
    assert main(["--config", str(config), "sync", "--start", "2026-10-01", "--end", "2026-10-01"]) == 1
    assert capsys.readouterr().err.startswith(f"error: {config}:3: unknown kind 'team'; use one of ")
    assert not (tmp_path / "warehouse.duckdb").exists()


def test_a_missing_mapping_file_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match=r"^cannot read cost centers file .*missing\.csv: "):
        read_cost_centers(tmp_path / "missing.csv")
