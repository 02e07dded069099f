-- Raw report tables: one row per API result row, at the API's grain, never aggregated.
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

-- Claude Code: one row per (date, actor, terminal, remote flag, customer and subscription type).
-- record_key is a hash of that dimension tuple and joins the two child tables below.
CREATE TABLE IF NOT EXISTS raw.claude_code_usage (
    organization_id     VARCHAR     NOT NULL,
    date                DATE        NOT NULL,
    record_key          VARCHAR     NOT NULL,
    actor_type          VARCHAR     NOT NULL,    -- user_actor | api_actor
    actor_email         VARCHAR,
    actor_api_key_name  VARCHAR,
    terminal_type       VARCHAR,
    is_remote           BOOLEAN,
    customer_type       VARCHAR,
    subscription_type   VARCHAR,
    num_sessions        BIGINT      NOT NULL,
    lines_added         BIGINT      NOT NULL,
    lines_removed       BIGINT      NOT NULL,
    commits             BIGINT      NOT NULL,
    pull_requests       BIGINT      NOT NULL,
    extras              JSON,
    loaded_at           TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS raw.claude_code_model_usage (
    organization_id        VARCHAR        NOT NULL,
    date                   DATE           NOT NULL,
    record_key             VARCHAR        NOT NULL,
    model                  VARCHAR        NOT NULL,
    input_tokens           BIGINT         NOT NULL,
    output_tokens          BIGINT         NOT NULL,
    cache_read_tokens      BIGINT         NOT NULL,
    cache_creation_tokens  BIGINT         NOT NULL,
    currency               VARCHAR,
    estimated_cost_cents   DECIMAL(38,12),
    estimated_cost_usd     DECIMAL(38,14),   -- an estimate: already inside the billed API cost, never add it
    loaded_at              TIMESTAMPTZ    NOT NULL
);

CREATE TABLE IF NOT EXISTS raw.claude_code_tool_actions (
    organization_id  VARCHAR     NOT NULL,
    date             DATE        NOT NULL,
    record_key       VARCHAR     NOT NULL,
    tool             VARCHAR     NOT NULL,
    accepted         BIGINT      NOT NULL,
    rejected         BIGINT      NOT NULL,
    loaded_at        TIMESTAMPTZ NOT NULL
);
