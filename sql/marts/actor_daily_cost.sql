-- Billed and list cost per UTC day, workspace and actor, from the Analytics API's cost rows grouped by
-- actor (the bill of the days whose source is the Analytics API, Priority Tier included), by API key,
-- model, service tier, cost type and token type. Rows the API sends once per identity it cannot render
-- (actor NULL, identical keys) are summed. discount_usd = list - billed. The default workspace under
-- the same ID as on cost-report days (NULL on Claude Enterprise orgs, the real ID on Console orgs).
-- Attribution (user_id): a user actor directly; an API actor through its key's owner as of that day
-- (principal, else created_by) when that owner is a user. Otherwise unattributed_reason says why:
-- service_account, federated_identity, no_actor (identities the API does not render),
-- key_owned_by_service_account, key_without_owner or unknown_api_key.
-- Grain: organization_id, date, workspace_id, actor_type, actor_id, federated_provider_id, federated_subject, api_key_id, model, service_tier, cost_type, token_type
-- Incremental: date
CREATE OR REPLACE TABLE marts.actor_daily_cost AS
WITH actor_cost AS (
    SELECT
        c.organization_id,
        CAST(c.bucket_start AS DATE)                    AS date,
        coalesce(c.workspace_id, d.workspace_id)        AS workspace_id,
        c.actor_type, c.actor_id, c.federated_provider_id, c.federated_subject,
        c.api_key_id, c.model, c.service_tier, c.cost_type, c.token_type,
        any_value(c.actor_email)                        AS actor_email,
        any_value(c.actor_name)                         AS actor_name,
        any_value(c.federated_provider)                 AS federated_provider,
        sum(c.amount_usd)                               AS cost_usd,
        sum(c.list_amount_usd)                          AS list_cost_usd
    FROM raw.analytics_cost AS c
    LEFT JOIN intermediate.int_default_workspaces AS d ON d.organization_id = c.organization_id
    WHERE c.grouping = 'actor'
    GROUP BY c.organization_id, CAST(c.bucket_start AS DATE), coalesce(c.workspace_id, d.workspace_id),
             c.actor_type, c.actor_id, c.federated_provider_id, c.federated_subject,
             c.api_key_id, c.model, c.service_tier, c.cost_type, c.token_type
)

SELECT
    a.date,
    a.organization_id,
    a.workspace_id,
    coalesce(w.workspace_name, a.workspace_id)          AS workspace_name,
    a.actor_type,
    a.actor_id,
    a.actor_email,
    a.actor_name,
    a.federated_provider,
    a.federated_provider_id,
    a.federated_subject,
    a.api_key_id,
    k.api_key_name,
    a.model,
    a.service_tier,
    a.cost_type,
    a.token_type,
    CASE
        WHEN a.actor_type = 'user_actor' THEN a.actor_id
        WHEN a.actor_type = 'api_actor' AND k.owner_type = 'user' THEN k.owner_id
    END                                                 AS user_id,
    CASE
        WHEN a.actor_type = 'user_actor' THEN 'user_actor'
        WHEN a.actor_type = 'api_actor' AND k.owner_type = 'user' THEN 'api_key_owner'
    END                                                 AS attributed_by,
    CASE
        WHEN a.actor_type = 'user_actor' THEN NULL
        WHEN a.actor_type = 'service_account_actor' THEN 'service_account'
        WHEN a.actor_type = 'federated_actor' THEN 'federated_identity'
        WHEN a.actor_type IS NULL THEN 'no_actor'
        WHEN k.api_key_id IS NULL THEN 'unknown_api_key'
        WHEN k.owner_type = 'user' THEN NULL
        WHEN k.owner_type = 'service_account' THEN 'key_owned_by_service_account'
        ELSE 'key_without_owner'
    END                                                 AS unattributed_reason,
    a.cost_usd,
    a.list_cost_usd,
    a.list_cost_usd - a.cost_usd                        AS discount_usd
FROM actor_cost AS a
LEFT JOIN intermediate.int_workspace_names AS w
    ON w.organization_id = a.organization_id AND w.workspace_id = a.workspace_id
LEFT JOIN marts.dim_api_keys AS k
    ON  k.organization_id = a.organization_id
    AND k.api_key_id = CASE WHEN a.actor_type = 'api_actor' THEN a.actor_id ELSE a.api_key_id END
    AND k.valid_from <= CAST(a.date AS TIMESTAMPTZ)
    AND (k.valid_to IS NULL OR CAST(a.date AS TIMESTAMPTZ) < k.valid_to)
