-- Daily usage summed the two ways the usage marts report it: per workspace and API key (grouped_by
-- 'api_key'; model and service_tier NULL) and per model and service tier (grouped_by 'model';
-- workspace_id and api_key_id NULL). Tokens by type and web searches.
-- Grain: organization_id, date, grouped_by, workspace_id, api_key_id, model, service_tier
-- Incremental: date
CREATE OR REPLACE TABLE intermediate.int_usage_totals AS
SELECT
    organization_id,
    date,
    CASE WHEN grouping(api_key_id) = 0 THEN 'api_key' ELSE 'model' END AS grouped_by,
    workspace_id,
    api_key_id,
    model,
    service_tier,
    sum(uncached_input_tokens)              AS uncached_input_tokens,
    sum(cache_creation_5m_input_tokens)     AS cache_creation_5m_input_tokens,
    sum(cache_creation_1h_input_tokens)     AS cache_creation_1h_input_tokens,
    sum(cache_read_input_tokens)            AS cache_read_input_tokens,
    sum(output_tokens)                      AS output_tokens,
    sum(web_search_requests)                AS web_search_requests
FROM intermediate.int_usage_daily
GROUP BY GROUPING SETS (
    (organization_id, date, workspace_id, api_key_id),
    (organization_id, date, model, service_tier)
)
