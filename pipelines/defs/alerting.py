"""Alerts from Dagster: a sensor on failed runs, and one on finished runs that reads their check
results (a failed `fresh` check is the stale-data alert) and the spend signals the run rebuilt.
`usage-pipeline sync` sends the same alerts through `alert_after_sync`.
"""

from collections.abc import Iterable

import dagster as dg

from pipelines.alerts import Alert, deliver, run_failed_alert, spend_alerts_of
from pipelines.defs.freshness import CHECK_NAME
from pipelines.defs.resources import SettingsResource
from pipelines.settings import Settings

def stale_alerts(evaluations: Iterable[dg.AssetCheckEvaluation]) -> list[Alert]:
    """A stale-data alert per failed freshness check."""
    return [Alert("stale", evaluation.asset_key.to_user_string(), evaluation.description or "stale data")
            for evaluation in evaluations if evaluation.check_name == CHECK_NAME and not evaluation.passed]


def alert_after_sync(settings: Settings, results: Iterable[dg.ExecuteInProcessResult]) -> list[Alert]:
    evaluations = [evaluation for result in results for evaluation in result.get_asset_check_evaluations()]
    return deliver(settings, [*spend_alerts_of(settings), *stale_alerts(evaluations)])


@dg.run_failure_sensor(name="alert_on_failed_run", description="Alert (webhook/email) when a run fails.")
def alert_on_failed_run(context: dg.RunFailureSensorContext, settings: SettingsResource) -> None:
    message = context.failure_event.message or "see the run's event log"
    deliver(settings, [run_failed_alert(f"Dagster run {context.dagster_run.run_id} of {context.dagster_run.job_name}",
                                        message)])


@dg.run_status_sensor(run_status=dg.DagsterRunStatus.SUCCESS, name="alert_after_run",
                      description="Alert on budget, forecast, anomaly and stale data after every successful run.")
def alert_after_run(context: dg.RunStatusSensorContext, settings: SettingsResource) -> None:
    run = context.dagster_run
    records = context.instance.get_records_for_run(
        run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
    evaluations = [record.event_log_entry.dagster_event.event_specific_data for record in records]
    deliver(settings, [*spend_alerts_of(settings), *stale_alerts(evaluations)])
