-- raw.analytics_usage: one row per row of GET /v1/organizations/analytics/usage (daily buckets), never aggregated.
-- `grouping` names the query the row came from ('actor' or 'product', see the README): rows of different
-- groupings count the same usage twice, so read one grouping at a time. Rows that share every key
-- (identities the API cannot render, each its own `actor: NULL` row) are numbered by row_ordinal: sum them.
-- workspace_id is the real wrkspc_ ID, also for a Console organization's default workspace (NULL only for a
-- Claude Enterprise organization's default workspace). Group keys are NULL unless grouped.

CREATE SCHEMA IF NOT EXISTS raw;

CREATE TABLE IF NOT EXISTS raw.analytics_usage (
    organization_id                 VARCHAR     NOT NULL,
    bucket_start                    TIMESTAMPTZ NOT NULL,
    bucket_end                      TIMESTAMPTZ NOT NULL,
    bucket_width                    VARCHAR     NOT NULL,   -- '1d'
    grouping                        VARCHAR     NOT NULL,   -- 'actor' | 'product'
    row_ordinal                     BIGINT      NOT NULL,   -- 1.. among rows with the same keys in the window
    workspace_id                    VARCHAR,
    api_key_id                      VARCHAR,                -- NULL = not authenticated by an API key
    model                           VARCHAR,
    service_tier                    VARCHAR,
    context_window                  VARCHAR,
    inference_geo                   VARCHAR,                -- 'global' | 'us' | NULL (region not set)
    speed                           VARCHAR,
    product                         VARCHAR,
    actor_type                      VARCHAR,                -- user_actor | service_account_actor | federated_actor | api_actor
    actor_id                        VARCHAR,                -- user_..., svac_... or apikey_...; NULL for federated and null actors
    actor_email                     VARCHAR,
    actor_name                      VARCHAR,
    actor_deleted                   BOOLEAN,
    federated_provider              VARCHAR,                -- aws | azure | gcp | oidc
    federated_provider_id           VARCHAR,                -- AWS account, Azure subscription, GCP project or OIDC issuer
    federated_subject               VARCHAR,
    agent_id                        VARCHAR,
    deployment_id                   VARCHAR,
    environment_id                  VARCHAR,
    session_id                      VARCHAR,
    user_profile_id                 VARCHAR,
    rbac_group_id                   VARCHAR,
    slack_channel_id                VARCHAR,
    claude_tag_category             VARCHAR,
    claude_tag_user_id              VARCHAR,
    child_organization_id           VARCHAR,                -- the group's organization_id (a parent's report across children)
    uncached_input_tokens           BIGINT      NOT NULL,
    cache_creation_5m_input_tokens  BIGINT      NOT NULL,
    cache_creation_1h_input_tokens  BIGINT      NOT NULL,
    cache_read_input_tokens         BIGINT      NOT NULL,
    output_tokens                   BIGINT      NOT NULL,
    web_search_requests             BIGINT      NOT NULL,
    requests                        BIGINT,                 -- code execution: execution spans, not HTTP requests
    total_tokens                    BIGINT      NOT NULL,   -- as the API computed it
    data_refreshed_at               TIMESTAMPTZ,            -- the API's freshness watermark for the page
    extras                          JSON,
    loaded_at                       TIMESTAMPTZ NOT NULL
);
