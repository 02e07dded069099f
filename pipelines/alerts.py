"""What the FinOps team is told, and that it is told once: budget crossed, forecast over budget,
spend anomaly, a failed or partial run, stale data.

Each alert goes out once per (kind, subject) and UTC day: `meta.alerts_sent` in the warehouse
remembers what was sent, so a second sync the same day sends nothing new. An alert that no
channel accepted is not recorded, so the next run tries again. Nothing here is configured
unless USAGE_PIPELINE_ALERT_WEBHOOK_URL or the SMTP settings are set.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime

import duckdb

from pipelines.notify import DeliveryError, channels, send
from pipelines.settings import Settings
from pipelines.warehouse import connect, read_sql, writer_lock

LOGGER = logging.getLogger("pipelines.alerts")
ANOMALY_DAYS = 7  # anomalies of an organization's last week of data are news; older ones are history


@dataclass(frozen=True)
class Alert:
    kind: str  # budget, forecast, anomaly, run_failed, partial_run, stale, test
    subject: str
    text: str
    day: date | None = None  # the day it is about, sent once; None: once per day it holds

    @property
    def title(self) -> str:
        return f"[usage-pipeline] {self.kind.replace('_', ' ')}: {self.subject}"


SPEND_SIGNALS = """
WITH newest AS (SELECT organization_id, max(date) AS date FROM marts.workspace_spend_signals GROUP BY ALL)
SELECT s.organization_id, coalesce(s.workspace_name, s.workspace_id) AS workspace, s.date, s.cost_usd,
       s.baseline_usd, s.month_to_date_usd, s.forecast_month_end_usd, s.monthly_budget_usd,
       s.date = n.date AND s.is_over_budget, s.date = n.date AND s.is_forecast_over_budget AND NOT s.is_over_budget,
       s.is_anomaly AND s.date > n.date - $anomaly_days
FROM marts.workspace_spend_signals AS s JOIN newest AS n USING (organization_id)
WHERE (s.date = n.date AND (s.is_over_budget OR s.is_forecast_over_budget))
   OR (s.is_anomaly AND s.date > n.date - $anomaly_days)
ORDER BY s.organization_id, workspace, s.date
"""


def spend_alerts(con: duckdb.DuckDBPyConnection) -> list[Alert]:
    """Budget and forecast alerts of each organization's newest day; anomalies of its last ANOMALY_DAYS days."""
    alerts = []
    for (organization, workspace, day, cost, baseline, month_to_date, forecast, budget,
         over_budget, forecast_over, anomaly) in con.execute(SPEND_SIGNALS, {"anomaly_days": ANOMALY_DAYS}).fetchall():
        month = f"{day:%Y-%m}"
        if over_budget:
            alerts.append(Alert("budget", f"{workspace} {month}",
                                f"Workspace {workspace} (organization {organization}) has spent ${month_to_date:,.2f} "
                                f"in {month} as of {day}, over its monthly budget of ${budget:,.2f}."))
        if forecast_over:
            alerts.append(Alert("forecast", f"{workspace} {month}",
                                f"Workspace {workspace} (organization {organization}) is forecast to spend "
                                f"${forecast:,.2f} in {month}, over its monthly budget of ${budget:,.2f} "
                                f"(${month_to_date:,.2f} so far, as of {day})."))
        if anomaly:
            alerts.append(Alert("anomaly", f"{workspace} {day}",
                                f"Workspace {workspace} (organization {organization}) spent ${cost:,.2f} on {day}, "
                                f"against a trailing baseline of ${baseline:,.2f} a day.", day=day))
    return alerts


def spend_alerts_of(settings: Settings) -> list[Alert]:
    """The spend alerts of the warehouse's marts (none before the marts were first built)."""
    with connect(settings.warehouse_path, read_only=True) as con:
        has_signals = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'marts' AND table_name = 'workspace_spend_signals'"
        ).fetchone()[0]
        return spend_alerts(con) if has_signals else []


def run_failed_alert(run: str, error: BaseException | str, partial: bool = False) -> Alert:
    detail = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    what = "loaded only part of its range" if partial else "failed"
    return Alert("partial_run" if partial else "run_failed", run, f"{run} {what}: {detail}")


def deliver(settings: Settings, alerts: list[Alert], today: date | None = None) -> list[Alert]:
    """Send the alerts not yet sent today; returns those sent. Logs (never raises) a delivery failure."""
    if not alerts or not channels(settings):
        return []
    today = today or datetime.now(UTC).date()
    sent = []
    with writer_lock(settings.warehouse_path), connect(settings.warehouse_path) as con:
        con.execute(read_sql("meta/alerts_sent.sql"))
        for alert in alerts:
            if con.execute("SELECT count(*) FROM meta.alerts_sent WHERE kind = ? AND subject = ? AND day = ?",
                           [alert.kind, alert.subject, alert.day or today]).fetchone()[0]:
                continue
            try:
                delivered = send(settings, alert.title, alert.text)
            except DeliveryError as exc:
                LOGGER.warning(f"alert not delivered ({alert.kind}: {alert.subject}): {exc}")
                continue
            con.execute("INSERT INTO meta.alerts_sent VALUES (?, ?, ?, ?, ?, ?)",
                        [alert.kind, alert.subject, alert.day or today, datetime.now(UTC), ", ".join(delivered), alert.text])
            LOGGER.info(f"alert sent by {', '.join(delivered)}: {alert.kind}: {alert.subject}")
            sent.append(alert)
    return sent
