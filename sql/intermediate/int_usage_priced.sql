-- Daily usage with one row per token type (named as the cost report names them), priced at list:
-- estimated_list_usd is what the tokens cost at the price table's rate for their model, tier and
-- geo on that day; estimated_uncached_usd what they would cost as uncached input (cache savings).
-- Priority (and any other unlisted) tier is priced at the standard rate and geos other than 'us'
-- at the global rate; tokens of a model the price table does not know have NULL estimates.
-- Grain: organization_id, date, workspace_id, api_key_id, account_id, service_account_id, model, service_tier, context_window, inference_geo, speed, token_type
-- Incremental: date
CREATE OR REPLACE TABLE intermediate.int_usage_priced AS
WITH usage_columns (usage_column, token_type) AS (
    VALUES
        ('uncached_input_tokens',          'uncached_input_tokens'),
        ('cache_creation_5m_input_tokens', 'cache_creation.ephemeral_5m_input_tokens'),
        ('cache_creation_1h_input_tokens', 'cache_creation.ephemeral_1h_input_tokens'),
        ('cache_read_input_tokens',        'cache_read_input_tokens'),
        ('output_tokens',                  'output_tokens')
),

tokens_by_column AS (
    UNPIVOT (SELECT * EXCLUDE (web_search_requests) FROM intermediate.int_usage_daily)
    ON uncached_input_tokens, cache_creation_5m_input_tokens, cache_creation_1h_input_tokens,
       cache_read_input_tokens, output_tokens
    INTO NAME usage_column VALUE tokens
),

tokens_by_type AS (
    SELECT
        u.* EXCLUDE (usage_column),
        c.token_type,
        CASE WHEN u.service_tier = 'batch' THEN 'batch' ELSE 'standard' END AS priced_tier,
        CASE WHEN u.inference_geo = 'us' THEN 'us' ELSE 'global' END         AS priced_geo
    FROM tokens_by_column AS u
    JOIN usage_columns AS c USING (usage_column)
),

token_prices AS (
    SELECT * FROM marts.list_prices WHERE price_type = 'tokens'
)

SELECT
    t.* EXCLUDE (priced_tier, priced_geo),
    p.list_usd_per_unit                                         AS list_usd_per_mtok,
    t.tokens * p.list_usd_per_unit * 0.000001                   AS estimated_list_usd,
    t.tokens * uncached.list_usd_per_unit * 0.000001            AS estimated_uncached_usd
FROM tokens_by_type AS t
LEFT JOIN token_prices AS p
    ON p.model = t.model AND p.token_type = t.token_type
    AND p.service_tier = t.priced_tier AND p.inference_geo = t.priced_geo
    AND t.date >= p.effective_from AND (p.effective_to IS NULL OR t.date < p.effective_to)
LEFT JOIN token_prices AS uncached
    ON uncached.model = t.model AND uncached.token_type = 'uncached_input_tokens'
    AND uncached.service_tier = t.priced_tier AND uncached.inference_geo = t.priced_geo
    AND t.date >= uncached.effective_from AND (uncached.effective_to IS NULL OR t.date < uncached.effective_to)
