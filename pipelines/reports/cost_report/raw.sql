-- raw.cost_report: one row per API result row (UTC day x workspace x line item), never aggregated.
-- Money is the API's exact decimal string as DECIMAL (never float); `extras` keeps unknown fields.

CREATE SCHEMA IF NOT EXISTS raw;

CREATE TABLE IF NOT EXISTS raw.cost_report (
    organization_id  VARCHAR        NOT NULL,
    bucket_start     TIMESTAMPTZ    NOT NULL,
    bucket_end       TIMESTAMPTZ    NOT NULL,
    workspace_id     VARCHAR,                    -- NULL = the default workspace
    description      VARCHAR,
    cost_type        VARCHAR,                    -- tokens | web_search | code_execution | session_usage | (new values kept)
    model            VARCHAR,
    token_type       VARCHAR,
    service_tier     VARCHAR,
    context_window   VARCHAR,
    inference_geo    VARCHAR,
    currency         VARCHAR        NOT NULL,
    amount_cents     DECIMAL(38,12) NOT NULL,    -- the API's decimal string, exactly
    amount_usd       DECIMAL(38,14) NOT NULL,    -- amount_cents / 100, exactly
    extras           JSON,
    loaded_at        TIMESTAMPTZ    NOT NULL
);
