-- One row per partition (organization, table, UTC day) per load, written in the same
-- transaction as the data it describes. Comparing a load with the previous load of the same
-- partition shows which days were restated, by how much and when.

CREATE SCHEMA IF NOT EXISTS raw;

CREATE TABLE IF NOT EXISTS raw.load_log (
    organization_id          VARCHAR        NOT NULL,
    table_name               VARCHAR        NOT NULL,   -- e.g. raw.messages_usage
    partition_date           DATE           NOT NULL,   -- the UTC day
    loaded_at                TIMESTAMPTZ    NOT NULL,
    run_id                   VARCHAR,                   -- Dagster run id, when run by Dagster
    window_start             TIMESTAMPTZ    NOT NULL,   -- the request window this day was fetched in
    window_end               TIMESTAMPTZ    NOT NULL,
    pages                    BIGINT         NOT NULL,   -- pages of that request window
    requests                 BIGINT         NOT NULL,   -- HTTP requests of that window, retries included
    rows                     BIGINT         NOT NULL,
    tokens                   BIGINT,                    -- sum of every token column (usage tables)
    cost_cents               DECIMAL(38,12),            -- billed (cost report) or estimated (Claude Code)
    previous_rows            BIGINT,                    -- NULL on the first load of the partition
    previous_tokens          BIGINT,
    previous_cost_cents      DECIMAL(38,12),
    rows_change              BIGINT,
    tokens_change            BIGINT,
    cost_cents_change        DECIMAL(38,12),
    restated                 BOOLEAN        NOT NULL,   -- a previous load existed and its totals differ
    schema_warnings          VARCHAR                    -- unknown fields / enum values seen in the window
);

-- Which source loaded the day: 'analytics' (Usage and Cost Analytics API), 'legacy' (usage_report/messages,
-- cost_report) or NULL (a report loaded whatever the source setting, e.g. Claude Code). Added after the
-- first release, so warehouses created before it gain the column here.
ALTER TABLE raw.load_log ADD COLUMN IF NOT EXISTS source VARCHAR;
