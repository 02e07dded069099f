-- Per organization and Analytics API report: whether its last load fell back to the legacy reports
-- (and why), so the legacy report of the same run loads every day instead of only the older ones.
CREATE SCHEMA IF NOT EXISTS meta;

CREATE TABLE IF NOT EXISTS meta.analytics_status (
    organization_id  VARCHAR     NOT NULL,
    report           VARCHAR     NOT NULL,   -- analytics_usage | analytics_cost
    checked_at       TIMESTAMPTZ NOT NULL,
    fallback         VARCHAR,                -- why it fell back; NULL: the Analytics API served it
    PRIMARY KEY (organization_id, report)
);
