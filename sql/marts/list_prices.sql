-- List prices, effective-dated, from the reviewed price file pipelines/data/prices.csv (token and
-- web-search prices per model) and pipelines/list_prices.py (per-hour code execution and session prices).
-- Token prices already include the Batch discount and the US data-residency multiplier.
-- Used for estimates only (reconciliation, cache savings, FOCUS list cost), never for billed numbers.
-- effective_from is inclusive, effective_to exclusive (NULL = still in force).
-- Grain: price_type, model, token_type, service_tier, inference_geo, effective_from
CREATE OR REPLACE TABLE marts.list_prices AS
WITH price_file AS (
    -- the CSV arrives as text (registered by the builder) and is cast to exact decimals here
    SELECT
        model,
        display_name,
        CAST(effective_from AS DATE)                 AS effective_from,
        CAST(nullif(effective_to, '') AS DATE)       AS effective_to,
        CAST(input AS DECIMAL(18, 6))                AS input,
        CAST(cache_write_5m AS DECIMAL(18, 6))       AS cache_write_5m,
        CAST(cache_write_1h AS DECIMAL(18, 6))       AS cache_write_1h,
        CAST(cache_read AS DECIMAL(18, 6))           AS cache_read,
        CAST(output AS DECIMAL(18, 6))               AS output,
        CAST(batch_multiplier AS DECIMAL(9, 4))      AS batch_multiplier,
        CAST(us_geo_multiplier AS DECIMAL(9, 4))     AS us_geo_multiplier,
        CAST(web_search_per_1k AS DECIMAL(18, 6))    AS web_search_per_1k
    FROM price_file_rows
),

-- which CSV column prices which cost-report token type
token_type_columns (price_column, token_type) AS (
    VALUES
        ('input',          'uncached_input_tokens'),
        ('cache_write_5m', 'cache_creation.ephemeral_5m_input_tokens'),
        ('cache_write_1h', 'cache_creation.ephemeral_1h_input_tokens'),
        ('cache_read',     'cache_read_input_tokens'),
        ('output',         'output_tokens')
),

base_token_prices AS (
    UNPIVOT price_file
    ON input, cache_write_5m, cache_write_1h, cache_read, output
    INTO NAME price_column VALUE base_usd_per_mtok
),

token_prices AS (
    SELECT
        'tokens'                    AS price_type,
        p.model,
        p.display_name,
        t.token_type,
        tier.service_tier,
        geo.inference_geo,
        p.effective_from,
        p.effective_to,
        '1000000 Tokens'            AS pricing_unit,
        'Tokens'                    AS consumed_unit,
        1000000                     AS consumed_per_pricing_unit,
        CAST(
            p.base_usd_per_mtok
            * CASE WHEN tier.service_tier = 'batch' THEN p.batch_multiplier ELSE 1 END
            * CASE WHEN geo.inference_geo = 'us' THEN p.us_geo_multiplier ELSE 1 END
            AS DECIMAL(38, 14))     AS list_usd_per_unit
    FROM base_token_prices AS p
    JOIN token_type_columns AS t USING (price_column)
    CROSS JOIN (VALUES ('standard'), ('batch')) AS tier (service_tier)
    CROSS JOIN (VALUES ('global'), ('us')) AS geo (inference_geo)
),

web_search_prices AS (
    SELECT
        'web_search'                AS price_type,
        model,
        display_name,
        NULL                        AS token_type,
        NULL                        AS service_tier,
        NULL                        AS inference_geo,
        effective_from,
        effective_to,
        '1000 Requests'             AS pricing_unit,
        'Requests'                  AS consumed_unit,
        1000                        AS consumed_per_pricing_unit,
        CAST(web_search_per_1k AS DECIMAL(38, 14)) AS list_usd_per_unit
    FROM price_file
),

runtime_prices AS (
    SELECT
        price_type,
        NULL                        AS model,
        NULL                        AS display_name,
        NULL                        AS token_type,
        NULL                        AS service_tier,
        NULL                        AS inference_geo,
        DATE '-infinity'            AS effective_from,
        NULL::DATE                  AS effective_to,
        'Hours'                     AS pricing_unit,
        'Hours'                     AS consumed_unit,
        1                           AS consumed_per_pricing_unit,
        CAST(list_usd_per_hour AS DECIMAL(38, 14)) AS list_usd_per_unit
    FROM runtime_price_rows
)

SELECT * FROM token_prices
UNION ALL BY NAME
SELECT * FROM web_search_prices
UNION ALL BY NAME
SELECT * FROM runtime_prices
