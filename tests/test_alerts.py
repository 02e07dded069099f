"""Alerts reach a real SMTP server (STARTTLS, AUTH) and a real webhook receiver on loopback,
once per subject and day, and the webhook secret appears nowhere; a server without STARTTLS gets
neither the mail nor the password; an Analytics API export lagging its load is a stale-data alert;
the Dagster sensors send the same alerts after the scheduled runs."""

from __future__ import annotations

import subprocess
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pytest

from admin_api_simulator import DEMO_ADMIN_KEY, Simulator
from pipelines.defs.alerting import alert_after_run, alert_on_failed_run
from pipelines.settings import Settings
from tests.alert_receivers import SmtpServer, WebhookReceiver, self_signed_certificate
from tests.conftest import SIMULATOR_SEED
from tests.test_cli import run_cli
from tests.test_marts import query

SECRET = "T0SECRET/B0SECRET/planted-webhook-secret-4f1c9"
PASSWORD = "planted-smtp-password-77"
BUDGETS = "Default Workspace=1"
SPIKE_DAY = date(2026, 11, 18)


@pytest.fixture
def receivers(tmp_path):
    cert, key = self_signed_certificate(tmp_path)
    smtp = SmtpServer(cert, key, "alerts", PASSWORD)
    webhook = WebhookReceiver()
    yield smtp, webhook, cert
    smtp.shutdown()
    webhook.shutdown()


def alert_env(simulator, tmp_path, smtp, webhook, cert) -> dict[str, str]:
    return {
        "ANTHROPIC_ADMIN_KEY": DEMO_ADMIN_KEY, "ANTHROPIC_BASE_URL": simulator.base_url,
        "WAREHOUSE_PATH": str(tmp_path / "w.duckdb"), "USAGE_PIPELINE_START_DATE": "2026-01-01",
        "USAGE_PIPELINE_REQUESTS_PER_MINUTE": "0",
        "USAGE_PIPELINE_ALERT_WEBHOOK_URL": webhook.url(f"/services/{SECRET}"),
        "USAGE_PIPELINE_SMTP_HOST": "127.0.0.1", "USAGE_PIPELINE_SMTP_PORT": str(smtp.port),
        "USAGE_PIPELINE_SMTP_USER": "alerts", "USAGE_PIPELINE_SMTP_PASSWORD": PASSWORD,
        "USAGE_PIPELINE_SMTP_FROM": "pipeline@example.test", "USAGE_PIPELINE_SMTP_TO": "finops@example.test",
        "SSL_CERT_FILE": str(cert),  # trust the test server's self-signed certificate
    }


def stale_alerts_sent(warehouse) -> list[tuple[str, str]]:
    """(subject, text) of the stale-data alerts sent; meta.alerts_sent exists from the first alert on."""
    exists = "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'meta' AND table_name = 'alerts_sent'"
    if not query(warehouse, exists)[0][0]:
        return []
    return query(warehouse, "SELECT subject, text FROM meta.alerts_sent WHERE kind = 'stale' ORDER BY subject")


def test_alerts_test_sends_one_message_to_each_channel(simulator, tmp_path, receivers):
    smtp, webhook, cert = receivers
    result = run_cli("alerts", "test", env=alert_env(simulator, tmp_path, smtp, webhook, cert), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(smtp.messages) == len(webhook.messages) == 1
    assert "test alert" in webhook.messages[0]["text"] and "test alert" in smtp.messages[0]
    assert SECRET not in result.stdout + result.stderr and PASSWORD not in result.stdout + result.stderr


def test_a_sync_over_a_budget_breach_and_an_anomaly_alerts_once_per_subject_and_day(simulator, tmp_path, receivers):
    smtp, webhook, cert = receivers
    env = alert_env(simulator, tmp_path, smtp, webhook, cert) | {"USAGE_PIPELINE_BUDGETS": BUDGETS}
    simulator.restate(SPIKE_DAY, factor=8)  # a day at eight times the usual spend: an anomaly
    sync = ("sync", "--start", "2026-10-25", "--end", "2026-11-19", "--reports", "analytics_cost,cost_report")
    first = run_cli(*sync, env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    sent = query(tmp_path / "w.duckdb", "SELECT kind, subject FROM meta.alerts_sent ORDER BY ALL")
    kinds = {kind for kind, _ in sent}
    assert {"budget", "anomaly"} <= kinds, sent
    assert any(kind == "anomaly" and subject.endswith(str(SPIKE_DAY)) for kind, subject in sent)
    assert len(smtp.messages) == len(webhook.messages) == len(sent)
    assert len({message["text"] for message in webhook.messages}) == len(sent)  # one message per alert

    second = run_cli(*sync, env=env, cwd=tmp_path)
    assert second.returncode == 0, second.stderr + second.stdout
    assert len(smtp.messages) == len(webhook.messages) == len(sent)  # nothing new the same day

    everything = [first.stdout, first.stderr, second.stdout, second.stderr, *map(str, webhook.messages), *smtp.messages]
    everything += [str(row) for row in query(tmp_path / "w.duckdb", "SELECT * FROM meta.alerts_sent")]
    dump = subprocess.run(["grep", "-rl", "planted", str(tmp_path)], capture_output=True, text=True).stdout
    assert not dump, f"secret written to {dump}"  # warehouse, Dagster instance (event log), anything on disk
    assert all(SECRET not in text and PASSWORD not in text for text in everything)


def test_an_smtp_server_without_starttls_gets_neither_the_mail_nor_the_password(simulator, tmp_path, receivers):
    _, webhook, cert = receivers
    smtp = SmtpServer(cert, cert.with_name("key.pem"), "alerts", PASSWORD, offers_starttls=False)
    try:
        env = {name: value for name, value in alert_env(simulator, tmp_path, smtp, webhook, cert).items()
               if name != "USAGE_PIPELINE_ALERT_WEBHOOK_URL"}  # email only
        result = run_cli("alerts", "test", env=env, cwd=tmp_path)
    finally:
        smtp.shutdown()
    assert result.returncode == 1
    assert "does not offer STARTTLS" in result.stderr.splitlines()[-1], result.stderr
    assert smtp.plain_logins == [] and smtp.messages == []  # loopback too: nothing goes in the clear
    assert PASSWORD not in result.stdout + result.stderr


def test_an_smtp_host_without_sender_and_recipients_is_named_before_anything_is_sent(simulator, tmp_path, receivers):
    smtp, webhook, cert = receivers
    env = {name: value for name, value in alert_env(simulator, tmp_path, smtp, webhook, cert).items()
           if name not in ("USAGE_PIPELINE_SMTP_FROM", "USAGE_PIPELINE_SMTP_TO")}
    result = run_cli("alerts", "test", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: USAGE_PIPELINE_SMTP_HOST is set but not USAGE_PIPELINE_SMTP_FROM nor USAGE_PIPELINE_SMTP_TO: set them "
        "too, or unset USAGE_PIPELINE_SMTP_HOST for no alert email"]
    assert smtp.messages == webhook.messages == []
    assert SECRET not in result.stdout + result.stderr and PASSWORD not in result.stdout + result.stderr


@pytest.mark.parametrize(("lag_hours", "alerted"), [(30, True), (1, False)])
def test_an_analytics_export_lagging_its_load_is_one_stale_alert_per_report_a_day(tmp_path, receivers, lag_hours,
                                                                                  alerted):
    """Yesterday and today synced (the newest day is fresh) from an API whose data_refreshed_at lags by lag_hours."""
    smtp, webhook, cert = receivers
    today = datetime.now(UTC).date()
    sync = ("sync", "--start", str(today - timedelta(days=1)), "--end", str(today), "--skip-entities",
            "--reports", "analytics_usage,analytics_cost")
    with Simulator(seed=SIMULATOR_SEED, refresh_lag_hours=lag_hours) as simulator:
        env = alert_env(simulator, tmp_path, smtp, webhook, cert)
        first = run_cli(*sync, env=env, cwd=tmp_path)
        assert first.returncode == 0, first.stderr
        stale = stale_alerts_sent(tmp_path / "w.duckdb")
        second = run_cli(*sync, env=env, cwd=tmp_path)
        assert second.returncode == 0, second.stderr

    assert [subject for subject, _ in stale] == (["raw/analytics_cost", "raw/analytics_usage"] if alerted else [])
    assert all("h behind when last loaded" in text and "lagging after 24 h" in text for _, text in stale)
    stale_posts = [message["text"] for message in webhook.messages if "] stale: " in message["text"]]
    stale_mails = [message for message in smtp.messages if "] stale: " in message]
    assert len(stale_posts) == len(stale_mails) == len(stale)  # the second sync the same day sent none again


def test_a_stale_auto_sync_alerts_and_warns_once_per_logical_report(simulator, tmp_path, receivers):
    """Under `auto` the Analytics API loads these old days, its legacy reports none: a legacy report and its
    replacement are one stale alert and one warning line, on the Analytics API report."""
    smtp, webhook, cert = receivers
    result = run_cli("sync", "--start", "2026-11-01", "--end", "2026-11-02", "--skip-entities",
                     env=alert_env(simulator, tmp_path, smtp, webhook, cert), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    stale = ["raw/analytics_cost", "raw/analytics_usage", "raw/claude_code_usage"]
    assert [subject for subject, _ in stale_alerts_sent(tmp_path / "w.duckdb")] == stale
    behind = (datetime.now(UTC).date() - date(2026, 11, 2)).days
    warnings = sorted(line.split(" ", 2)[2] for line in result.stderr.splitlines() if " fresh (WARN): " in line)
    assert len(warnings) == len(stale), result.stderr
    for warning, subject in zip(warnings, stale):
        assert warning.startswith(f"{subject} fresh (WARN): {subject.removeprefix('raw/')}: newest loaded day "
                                  f"2026-11-02, {behind} day(s) before today (stale after 2)"), warning


def sensor_context(instance: dg.DagsterInstance, sensor: str, run: dg.DagsterRun, event: dg.DagsterEventType,
                   settings: Settings) -> dg.RunStatusSensorContext:
    """What the sensor daemon hands a run status sensor for `run`, built from the instance's records."""
    record = instance.get_records_for_run(run.run_id, of_type=event).records[-1]
    return dg.build_run_status_sensor_context(sensor, record.event_log_entry.dagster_event, instance, run,
                                              resources={"settings": settings})


def test_the_dagster_sensors_alert_after_a_successful_run_and_on_a_failed_one(simulator, tmp_path, receivers,
                                                                               monkeypatch):
    """The runs are the CLI's, recorded in the instance with no channel set; the sensors then see them with both."""
    smtp, webhook, cert = receivers
    home = tmp_path / "dagster_home"
    home.mkdir()
    env = alert_env(simulator, tmp_path, smtp, webhook, cert) | {"USAGE_PIPELINE_BUDGETS": BUDGETS,
                                                                  "DAGSTER_HOME": str(home)}
    without_channels = {name: value for name, value in env.items()
                        if name not in ("USAGE_PIPELINE_ALERT_WEBHOOK_URL", "USAGE_PIPELINE_SMTP_HOST")}
    synced = run_cli("sync", "--start", "2026-11-01", "--end", "2026-11-19", "--reports", "analytics_cost",
                     env=without_channels, cwd=tmp_path)
    assert synced.returncode == 0, synced.stderr
    rejected = run_cli("sync", "--start", "2026-11-19", "--end", "2026-11-19", "--reports", "analytics_cost",
                       env=without_channels | {"ANTHROPIC_ADMIN_KEY": "sk-ant-admin01-revoked"}, cwd=tmp_path)
    assert rejected.returncode == 1 and smtp.messages == webhook.messages == []

    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    settings = Settings.load(env)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        [failed] = instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]))
        succeeded = instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.SUCCESS]), limit=1)[0]
        with sensor_context(instance, "alert_after_run", succeeded, dg.DagsterEventType.RUN_SUCCESS,
                            settings) as after_run:
            alert_after_run(after_run)
            after_run_posts = [message["text"] for message in webhook.messages]
            alert_after_run(after_run)  # the sensor sees the run again (a daemon restart): nothing new
        assert [message["text"] for message in webhook.messages] == after_run_posts
        with sensor_context(instance, "alert_on_failed_run", failed, dg.DagsterEventType.RUN_FAILURE,
                            settings) as on_failure:
            alert_on_failed_run(on_failure.for_run_failure())

    # the simulator's clock stops at 2026-11-20, so the run's freshness check failed too: a stale alert
    assert sorted(text.splitlines()[0] for text in after_run_posts) == [
        "*[usage-pipeline] budget: Default Workspace 2026-11*", "*[usage-pipeline] stale: raw/analytics_cost*"]
    failure_posts = [message["text"] for message in webhook.messages[len(after_run_posts):]]
    assert len(failure_posts) == 1 and f"run failed: Dagster run {failed.run_id}" in failure_posts[0], failure_posts
    assert len(smtp.messages) == len(webhook.messages)
    assert query(tmp_path / "w.duckdb", "SELECT kind, count(*) FROM meta.alerts_sent GROUP BY ALL ORDER BY ALL") == [
        ("budget", 1), ("run_failed", 1), ("stale", 1)]
