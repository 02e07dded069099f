-- Usage and cost per UTC day, workspace, product (Messages API, Batches, Claude Code, Managed Agents,
-- the claude.ai products of Enterprise orgs; NULL = not attributable to a known surface) and model,
-- from the Analytics API's rows grouped by product: tokens by type, web searches, requests (NULL when
-- the API gave none), and billed and list cost. Only days loaded from the Analytics API have rows.
-- Grain: organization_id, date, workspace_id, product, model
-- Incremental: date
CREATE OR REPLACE TABLE marts.product_daily_usage_cost AS
WITH usage AS (
    SELECT
        u.organization_id,
        CAST(u.bucket_start AS DATE)                    AS date,
        coalesce(u.workspace_id, d.workspace_id)        AS workspace_id,
        u.product,
        u.model,
        sum(u.uncached_input_tokens)                    AS uncached_input_tokens,
        sum(u.cache_creation_5m_input_tokens)           AS cache_creation_5m_input_tokens,
        sum(u.cache_creation_1h_input_tokens)           AS cache_creation_1h_input_tokens,
        sum(u.cache_read_input_tokens)                  AS cache_read_input_tokens,
        sum(u.output_tokens)                            AS output_tokens,
        sum(u.total_tokens)                             AS total_tokens,
        sum(u.web_search_requests)                      AS web_search_requests,
        sum(u.requests)                                 AS requests
    FROM raw.analytics_usage AS u
    LEFT JOIN intermediate.int_default_workspaces AS d ON d.organization_id = u.organization_id
    WHERE u.grouping = 'product'
    GROUP BY ALL
),

cost AS (
    SELECT
        c.organization_id,
        CAST(c.bucket_start AS DATE)                    AS date,
        coalesce(c.workspace_id, d.workspace_id)        AS workspace_id,
        c.product,
        c.model,
        sum(c.amount_usd)                               AS cost_usd,
        sum(c.list_amount_usd)                          AS list_cost_usd
    FROM raw.analytics_cost AS c
    LEFT JOIN intermediate.int_default_workspaces AS d ON d.organization_id = c.organization_id
    WHERE c.grouping = 'product'
    GROUP BY ALL
),

combined AS (
    SELECT
        coalesce(u.organization_id, c.organization_id)  AS organization_id,
        coalesce(u.date, c.date)                        AS date,
        coalesce(u.workspace_id, c.workspace_id)        AS workspace_id,
        coalesce(u.product, c.product)                  AS product,
        coalesce(u.model, c.model)                      AS model,
        u.* EXCLUDE (organization_id, date, workspace_id, product, model),
        c.cost_usd,
        c.list_cost_usd
    FROM usage AS u
    FULL JOIN cost AS c
        ON  c.organization_id = u.organization_id AND c.date = u.date
        AND c.workspace_id IS NOT DISTINCT FROM u.workspace_id
        AND c.product IS NOT DISTINCT FROM u.product
        AND c.model IS NOT DISTINCT FROM u.model
)

SELECT
    c.date,
    c.organization_id,
    c.workspace_id,
    coalesce(w.workspace_name, c.workspace_id)          AS workspace_name,
    c.product,
    c.model,
    coalesce(c.uncached_input_tokens, 0)                AS uncached_input_tokens,
    coalesce(c.cache_creation_5m_input_tokens, 0)       AS cache_creation_5m_input_tokens,
    coalesce(c.cache_creation_1h_input_tokens, 0)       AS cache_creation_1h_input_tokens,
    coalesce(c.cache_read_input_tokens, 0)              AS cache_read_input_tokens,
    coalesce(c.output_tokens, 0)                        AS output_tokens,
    coalesce(c.total_tokens, 0)                         AS total_tokens,
    coalesce(c.web_search_requests, 0)                  AS web_search_requests,
    c.requests,
    coalesce(c.cost_usd, 0)                             AS cost_usd,
    coalesce(c.list_cost_usd, 0)                        AS list_cost_usd
FROM combined AS c
LEFT JOIN intermediate.int_workspace_names AS w
    ON w.organization_id = c.organization_id AND w.workspace_id = c.workspace_id
