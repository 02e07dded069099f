-- Messages usage rolled up from its buckets to UTC days, keeping every usage dimension; the
-- default workspace (null in the report) under its real ID.
-- Grain: organization_id, date, workspace_id, api_key_id, account_id, service_account_id, model, service_tier, context_window, inference_geo, speed
-- Incremental: date
CREATE OR REPLACE TABLE intermediate.int_usage_daily AS
SELECT
    u.organization_id,
    CAST(u.bucket_start AS DATE)                    AS date,
    coalesce(u.workspace_id, d.workspace_id)        AS workspace_id,
    u.api_key_id, u.account_id, u.service_account_id, u.model, u.service_tier, u.context_window, u.inference_geo, u.speed,
    sum(u.uncached_input_tokens)                    AS uncached_input_tokens,
    sum(u.cache_creation_5m_input_tokens)           AS cache_creation_5m_input_tokens,
    sum(u.cache_creation_1h_input_tokens)           AS cache_creation_1h_input_tokens,
    sum(u.cache_read_input_tokens)                  AS cache_read_input_tokens,
    sum(u.output_tokens)                            AS output_tokens,
    sum(u.web_search_requests)                      AS web_search_requests
FROM raw.messages_usage AS u
LEFT JOIN intermediate.int_default_workspaces AS d USING (organization_id)
GROUP BY ALL
