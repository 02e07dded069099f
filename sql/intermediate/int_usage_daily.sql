-- Usage per UTC day, keeping every usage dimension, from the day's source (intermediate.int_usage_sources):
-- the messages usage report rolled up from its buckets (also on days the load log does not know), or
-- the Analytics API's usage rows grouped by actor (null-actor rows summed). The default workspace
-- under its real ID. The actor grouping has no context window, inference geo or speed: NULL on
-- Analytics API days; a user actor is the account_id, a service account actor the
-- service_account_id (federated and null actors: neither).
-- Grain: organization_id, date, workspace_id, api_key_id, account_id, service_account_id, model, service_tier, context_window, inference_geo, speed
-- Incremental: date
CREATE OR REPLACE TABLE intermediate.int_usage_daily AS
WITH usage AS (
    SELECT
        organization_id, CAST(bucket_start AS DATE) AS date, 'legacy' AS source,
        workspace_id, api_key_id, account_id, service_account_id, model, service_tier, context_window,
        inference_geo, speed, uncached_input_tokens, cache_creation_5m_input_tokens,
        cache_creation_1h_input_tokens, cache_read_input_tokens, output_tokens, web_search_requests
    FROM raw.messages_usage
    UNION ALL
    SELECT
        organization_id, CAST(bucket_start AS DATE) AS date, 'analytics' AS source,
        workspace_id, api_key_id,
        CASE WHEN actor_type = 'user_actor' THEN actor_id END               AS account_id,
        CASE WHEN actor_type = 'service_account_actor' THEN actor_id END    AS service_account_id,
        model, service_tier, context_window, inference_geo, speed,
        uncached_input_tokens, cache_creation_5m_input_tokens, cache_creation_1h_input_tokens,
        cache_read_input_tokens, output_tokens, web_search_requests
    FROM raw.analytics_usage
    WHERE grouping = 'actor'
)

SELECT
    u.organization_id,
    u.date,
    coalesce(u.workspace_id, d.workspace_id)        AS workspace_id,
    u.api_key_id, u.account_id, u.service_account_id, u.model, u.service_tier, u.context_window, u.inference_geo, u.speed,
    sum(u.uncached_input_tokens)                    AS uncached_input_tokens,
    sum(u.cache_creation_5m_input_tokens)           AS cache_creation_5m_input_tokens,
    sum(u.cache_creation_1h_input_tokens)           AS cache_creation_1h_input_tokens,
    sum(u.cache_read_input_tokens)                  AS cache_read_input_tokens,
    sum(u.output_tokens)                            AS output_tokens,
    sum(u.web_search_requests)                      AS web_search_requests
FROM usage AS u
LEFT JOIN intermediate.int_usage_sources AS s ON s.organization_id = u.organization_id AND s.date = u.date
LEFT JOIN intermediate.int_default_workspaces AS d ON d.organization_id = u.organization_id
WHERE u.source = coalesce(s.source, 'legacy')
GROUP BY ALL
