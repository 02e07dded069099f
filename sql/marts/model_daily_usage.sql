-- Usage per UTC day, model and service tier: tokens by type, web searches, the cache hit ratio
-- (cache reads / all input tokens), and estimates from the price table (marts.list_prices):
-- the list cost, what cache reads saved against paying for the same tokens as uncached input, what
-- cache writes cost on top of uncached input, and the net saving. Estimates, never billed numbers;
-- tokens of models without a list price are counted in unpriced_tokens and left out of them.
-- Grain: organization_id, date, model, service_tier
-- Incremental: date
CREATE OR REPLACE TABLE marts.model_daily_usage AS
WITH estimates AS (
    SELECT
        organization_id, date, model, service_tier,
        coalesce(sum(estimated_list_usd), 0)                                        AS estimated_list_cost_usd,
        coalesce(sum(estimated_uncached_usd - estimated_list_usd)
                 FILTER (WHERE token_type = 'cache_read_input_tokens'), 0)          AS estimated_cache_read_savings_usd,
        coalesce(sum(estimated_list_usd - estimated_uncached_usd)
                 FILTER (WHERE token_type LIKE 'cache_creation.%'), 0)              AS estimated_cache_write_premium_usd,
        coalesce(sum(tokens) FILTER (WHERE list_usd_per_mtok IS NULL), 0)           AS unpriced_tokens
    FROM intermediate.int_usage_priced
    GROUP BY ALL
)

SELECT
    u.date,
    u.organization_id,
    u.model,
    u.service_tier,
    u.uncached_input_tokens,
    u.cache_creation_5m_input_tokens,
    u.cache_creation_1h_input_tokens,
    u.cache_read_input_tokens,
    u.output_tokens,
    u.web_search_requests,
    u.cache_read_input_tokens / nullif(u.uncached_input_tokens + u.cache_creation_5m_input_tokens
        + u.cache_creation_1h_input_tokens + u.cache_read_input_tokens, 0)     AS cache_hit_ratio,
    e.estimated_list_cost_usd,
    e.estimated_cache_read_savings_usd,
    e.estimated_cache_write_premium_usd,
    e.estimated_cache_read_savings_usd - e.estimated_cache_write_premium_usd   AS estimated_net_cache_savings_usd,
    e.unpriced_tokens
FROM intermediate.int_usage_totals AS u
JOIN estimates AS e
    ON  e.organization_id = u.organization_id AND e.date = u.date
    AND e.model IS NOT DISTINCT FROM u.model
    AND e.service_tier IS NOT DISTINCT FROM u.service_tier
WHERE u.grouped_by = 'model'
