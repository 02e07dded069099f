-- Whom the Analytics API bills an actor's cost to, per UTC day: a user actor is that user; an API actor
-- is its key's owner as of that day (principal, else created_by) when that owner is a user. Otherwise
-- unattributed_reason says why: service_account, federated_identity, no_actor (identities the API does
-- not render), key_owned_by_service_account, key_without_owner or unknown_api_key. One row per actor and
-- API key of the day's cost rows grouped by actor (groupings 'actor' and 'chargeback'), so that
-- marts.actor_daily_cost and intermediate.int_cost_center_cost attribute cost the same way.
-- Grain: organization_id, date, actor_type, actor_id, api_key_id
-- Incremental: date
CREATE OR REPLACE TABLE intermediate.int_actor_attribution AS
WITH actors AS (
    SELECT DISTINCT organization_id, CAST(bucket_start AS DATE) AS date, actor_type, actor_id, api_key_id
    FROM raw.analytics_cost
    WHERE grouping IN ('actor', 'chargeback')
)

SELECT
    a.organization_id,
    a.date,
    a.actor_type,
    a.actor_id,
    a.api_key_id,
    k.api_key_name,
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
    END                                                 AS unattributed_reason
FROM actors AS a
LEFT JOIN marts.dim_api_keys AS k
    ON  k.organization_id = a.organization_id
    AND k.api_key_id = CASE WHEN a.actor_type = 'api_actor' THEN a.actor_id ELSE a.api_key_id END
    AND k.valid_from <= CAST(a.date AS TIMESTAMPTZ)
    AND (k.valid_to IS NULL OR CAST(a.date AS TIMESTAMPTZ) < k.valid_to)
