CREATE SCHEMA IF NOT EXISTS raw;

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
