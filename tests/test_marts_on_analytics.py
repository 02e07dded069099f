"""The marts on days loaded from the simulator's Usage and Cost Analytics API (the default source):
the bill per day is the API's (Priority Tier included), users come from the actor attribution, list
minus billed per model is the simulator's discount, and a second identical sync changes nothing."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from admin_api_simulator import DEMO_ADMIN_KEY, Simulator
from admin_api_simulator.analytics_view import COMPONENTS
from pipelines.settings import Settings
from pipelines.sync import SyncRange, run_sync
from tests.warehouse_helpers import scalar, tables_that_differ

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
FIRST, LAST = date(2026, 11, 16), date(2026, 11, 19)
DAYS = [FIRST + timedelta(days=offset) for offset in range((LAST - FIRST).days + 1)]


@pytest.fixture(scope="module")
def synced(tmp_path_factory):
    """A warehouse synced twice from the simulator, with a copy taken after the first sync."""
    path = tmp_path_factory.mktemp("analytics-marts") / "warehouse.duckdb"
    with pytest.MonkeyPatch.context() as env, Simulator(seed=7, now=NOW) as simulator:
        env.setenv("ANTHROPIC_ADMIN_KEY", DEMO_ADMIN_KEY)
        settings = Settings.from_mapping({"base_url": simulator.base_url, "warehouse_path": str(path),
                                          "start_date": "2026-11-01", "requests_per_minute": 0})
        run_sync(settings, SyncRange(FIRST, LAST))
        first = path.with_name("first.duckdb")
        shutil.copyfile(path, first)
        run_sync(settings, SyncRange(FIRST, LAST))
        yield path, first, simulator.org


def api_bill_usd(org, day: date, tiers: tuple[str, ...] | None = None) -> Decimal:
    """What the simulator bills for a day through the Analytics API (post-discount), by its own events."""
    start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    events = org.analytics_events(start, start + timedelta(days=1), None, with_cost=True)
    if tiers is not None:
        events = events.filter(events["service_tier"].is_in(list(tiers)))
    return sum(Decimal(events[f"amount_{component}"].sum()) for component in COMPONENTS) / 100


def test_every_day_is_billed_from_the_analytics_api_including_priority_tier(synced):
    path, _, org = synced
    assert scalar(path, "SELECT count(*) FROM raw.load_log WHERE table_name = 'raw.cost_report'") == 0
    for day in DAYS:
        billed = scalar(path, "SELECT sum(cost_usd) FROM marts.workspace_daily_cost WHERE date = ?", [day])
        assert billed == api_bill_usd(org, day), day
        priority = scalar(path, "SELECT coalesce(sum(cost_usd), 0) FROM marts.workspace_daily_cost WHERE date = ? "
                                "AND service_tier IN ('priority', 'priority_on_demand')", [day])
        assert priority == api_bill_usd(org, day, ("priority", "priority_on_demand"))
    assert scalar(path, "SELECT sum(cost_usd) FROM marts.workspace_daily_cost WHERE service_tier LIKE 'priority%'") > 0


def test_users_cost_is_the_actor_attribution_and_sums_to_the_bill(synced):
    path, _, _ = synced
    assert scalar(path, """
        SELECT count(*) FROM (
            SELECT user_id, sum(cost_usd) AS cost FROM marts.user_daily_cost WHERE user_id IS NOT NULL GROUP BY 1
        ) AS users FULL JOIN (
            SELECT user_id, sum(cost_usd) AS cost FROM marts.actor_daily_cost WHERE user_id IS NOT NULL GROUP BY 1
        ) AS actors USING (user_id)
        WHERE users.cost IS DISTINCT FROM actors.cost""") == 0
    direct = scalar(path, "SELECT sum(amount_usd) FROM raw.analytics_cost WHERE grouping = 'actor' AND actor_type = 'user_actor'")
    assert 0 < direct <= scalar(path, "SELECT sum(cost_usd) FROM marts.user_daily_cost WHERE user_id IS NOT NULL")
    assert scalar(path, """
        SELECT count(*) FROM (SELECT date, workspace_id, sum(cost_usd) AS cost FROM marts.user_daily_cost GROUP BY ALL) AS u
        FULL JOIN (SELECT date, workspace_id, sum(cost_usd) AS cost FROM marts.workspace_daily_cost GROUP BY ALL) AS w
        USING (date, workspace_id) WHERE u.cost IS DISTINCT FROM w.cost""") == 0


def test_list_minus_billed_per_model_is_the_simulators_discount(synced):
    path, _, org = synced
    discounted = 0
    for day in DAYS:
        rows = scalar(path, "SELECT list([model, discount::VARCHAR]) FROM (SELECT model, sum(discount_usd) AS discount "
                            "FROM marts.actor_daily_cost WHERE date = ? AND model IS NOT NULL GROUP BY 1)", [day])
        for model, discount in rows:
            assert Decimal(discount) == org.discount_usd(model, day), (day, model)
            discounted += Decimal(discount) > 0
    assert discounted > 0  # the simulator discounts one model


def test_a_second_identical_sync_changes_nothing(synced):
    path, first, _ = synced
    ignore = frozenset({"loaded_at", "x_ExportedAt"})
    assert tables_that_differ(path, first, ("raw",), ignore | {"valid_from", "valid_to", "is_current"}) in ([], ["raw.load_log"])
    assert tables_that_differ(path, first, ("marts",), ignore) == []
