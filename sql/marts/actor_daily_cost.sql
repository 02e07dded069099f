-- Billed and list cost per UTC day, workspace and actor, from the Analytics API's cost rows grouped by
-- actor (the bill of the days whose source is the Analytics API, Priority Tier included), by API key,
-- model, service tier, cost type and token type. Rows the API sends once per identity it cannot render
-- (actor NULL, identical keys) are summed. discount_usd = list - billed. The default workspace under
-- the same ID as on cost-report days (NULL on Claude Enterprise orgs, the real ID on Console orgs).
-- Attribution (user_id, attributed_by, unattributed_reason, and the key's name as of that day) as in
-- intermediate.int_actor_attribution: a user actor directly; an API actor through its key's owner.
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
    t.api_key_name,
    a.model,
    a.service_tier,
    a.cost_type,
    a.token_type,
    t.user_id,
    t.attributed_by,
    t.unattributed_reason,
    a.cost_usd,
    a.list_cost_usd,
    a.list_cost_usd - a.cost_usd                        AS discount_usd
FROM actor_cost AS a
LEFT JOIN intermediate.int_workspace_names AS w
    ON w.organization_id = a.organization_id AND w.workspace_id = a.workspace_id
LEFT JOIN intermediate.int_actor_attribution AS t
    ON  t.organization_id = a.organization_id
    AND t.date = a.date
    AND t.actor_type IS NOT DISTINCT FROM a.actor_type
    AND t.actor_id IS NOT DISTINCT FROM a.actor_id
    AND t.api_key_id IS NOT DISTINCT FROM a.api_key_id
