-- raw.analytics_cost: one row per row of GET /v1/organizations/analytics/cost (daily buckets), never aggregated.
-- amount is billed (post-discount, pre-credit), list_amount the list price: both the API's decimal cent strings,
-- exactly. `grouping`, row_ordinal, workspace_id and NULL group keys as in raw.analytics_usage. With cost_type and
-- token_type grouped, `requests` is NULL. Priority Tier cost is included (the legacy cost report leaves it out).

CREATE SCHEMA IF NOT EXISTS raw;

CREATE TABLE IF NOT EXISTS raw.analytics_cost (
    organization_id                 VARCHAR     NOT NULL,
    bucket_start                    TIMESTAMPTZ NOT NULL,
    bucket_end                      TIMESTAMPTZ NOT NULL,
    bucket_width                    VARCHAR     NOT NULL,   -- '1d'
    grouping                        VARCHAR     NOT NULL,   -- 'actor' | 'product' | 'chargeback'
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
    cost_type                       VARCHAR,                -- tokens | web_search | code_execution | session_usage
    token_type                      VARCHAR,                -- with cost_type tokens: which token type
    currency                        VARCHAR        NOT NULL,
    amount_cents                    DECIMAL(38,12) NOT NULL,   -- billed: the API's decimal string, exactly
    list_amount_cents               DECIMAL(38,12) NOT NULL,   -- list price, exactly
    amount_usd                      DECIMAL(38,14) NOT NULL,   -- amount_cents / 100
    list_amount_usd                 DECIMAL(38,14) NOT NULL,
    requests                        BIGINT,
    data_refreshed_at               TIMESTAMPTZ,
    extras                          JSON,
    loaded_at                       TIMESTAMPTZ    NOT NULL
);
