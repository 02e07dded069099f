-- Alerts already sent, so each goes out once per subject and UTC day (pipelines/alerts.py).
-- Bookkeeping of the pipeline: not published to readers.

CREATE SCHEMA IF NOT EXISTS meta;

CREATE TABLE IF NOT EXISTS meta.alerts_sent (
    kind      VARCHAR      NOT NULL,   -- budget, forecast, anomaly, run_failed, stale, test
    subject   VARCHAR      NOT NULL,   -- what the alert is about, e.g. organization/workspace
    day       DATE         NOT NULL,   -- the day an anomaly is about, else the UTC day it was sent
    sent_at   TIMESTAMPTZ  NOT NULL,
    channels  VARCHAR      NOT NULL,   -- where it went: webhook, email
    text      VARCHAR      NOT NULL,
    PRIMARY KEY (kind, subject, day)
);
