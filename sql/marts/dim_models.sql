-- Every model that is priced or was used: family, display name, launch day (first price), whether
-- the price table knows it, and the first and last UTC day it appears in usage, cost or Claude Code.
-- Grain: model
CREATE OR REPLACE TABLE marts.dim_models AS
WITH priced AS (
    SELECT model, arg_max(display_name, effective_from) AS display_name, min(effective_from) AS launched_on
    FROM marts.list_prices
    WHERE price_type = 'tokens'
    GROUP BY model
),

used AS (
    SELECT model, min(date) AS first_used_on, max(date) AS last_used_on
    FROM (
        SELECT model, date FROM intermediate.int_usage_daily
        UNION ALL SELECT model, bucket_start::DATE FROM raw.cost_report
        UNION ALL SELECT model, date FROM raw.claude_code_model_usage
    )
    WHERE model IS NOT NULL
    GROUP BY model
)

SELECT
    model,
    coalesce(p.display_name, model)                                         AS display_name,
    nullif(regexp_extract(model, '(opus|sonnet|haiku|fable|mythos)'), '')   AS family,
    p.launched_on,
    p.model IS NOT NULL                                                     AS has_list_price,
    u.first_used_on,
    u.last_used_on
FROM priced AS p
FULL JOIN used AS u USING (model)
