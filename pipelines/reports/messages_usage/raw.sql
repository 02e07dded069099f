-- raw.messages_usage: one row per API result row (bucket x grouped dimensions), never aggregated.
-- Conventions: timestamps are TIMESTAMPTZ in UTC; money is exact DECIMAL (never float);
-- `extras` holds fields the API sent that this version does not know (JSON, NULL when none);
-- `organization_id` and `loaded_at` are on every row.
-- NULL dimension semantics follow the API: all dimensions are grouped, so
-- workspace_id NULL = the default workspace, api_key_id NULL = Console/Workbench usage,
-- account_id NULL = not OAuth traffic, service_account_id NULL = not workload-identity traffic.

CREATE SCHEMA IF NOT EXISTS raw;

CREATE TABLE IF NOT EXISTS raw.messages_usage (
    organization_id                 VARCHAR     NOT NULL,
    bucket_start                    TIMESTAMPTZ NOT NULL,
    bucket_end                      TIMESTAMPTZ NOT NULL,
    bucket_width                    VARCHAR     NOT NULL,   -- '1m' | '1h' | '1d'
    workspace_id                    VARCHAR,
    api_key_id                      VARCHAR,
    account_id                      VARCHAR,
    service_account_id              VARCHAR,
    model                           VARCHAR,
    service_tier                    VARCHAR,
    context_window                  VARCHAR,
    inference_geo                   VARCHAR,
    speed                           VARCHAR,                -- only with the fast-mode beta
    uncached_input_tokens           BIGINT      NOT NULL,
    cache_creation_5m_input_tokens  BIGINT      NOT NULL,
    cache_creation_1h_input_tokens  BIGINT      NOT NULL,
    cache_read_input_tokens         BIGINT      NOT NULL,
    output_tokens                   BIGINT      NOT NULL,
    web_search_requests             BIGINT      NOT NULL,
    extras                          JSON,
    loaded_at                       TIMESTAMPTZ NOT NULL
);
