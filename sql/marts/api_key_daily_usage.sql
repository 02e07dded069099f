-- Usage and allocated billed cost per API key, UTC day and workspace: tokens by type, web searches,
-- the key's share of the bill (marts.cost_allocation; web search is billed per workspace and stays
-- unallocated there), and the key's name, status and owner as of that day. api_key_id NULL is
-- Console/Workbench usage; a key no entity list knows has NULL name and status.
-- Grain: organization_id, date, workspace_id, api_key_id
-- Incremental: date
CREATE OR REPLACE TABLE marts.api_key_daily_usage AS
WITH allocated AS (
    SELECT organization_id, date, workspace_id, api_key_id, sum(cost_usd) AS allocated_cost_usd
    FROM marts.cost_allocation
    WHERE allocation_status = 'allocated'
    GROUP BY ALL
),

owners AS (
    SELECT organization_id, user_id, user_email FROM marts.dim_users WHERE is_latest_version
)

SELECT
    u.date,
    u.organization_id,
    u.workspace_id,
    coalesce(w.workspace_name, u.workspace_id)          AS workspace_name,
    u.api_key_id,
    k.api_key_name,
    k.status                                            AS api_key_status,
    k.owner_type,
    k.owner_id,
    o.user_email                                        AS owner_email,
    u.uncached_input_tokens,
    u.cache_creation_5m_input_tokens,
    u.cache_creation_1h_input_tokens,
    u.cache_read_input_tokens,
    u.output_tokens,
    u.uncached_input_tokens + u.cache_creation_5m_input_tokens + u.cache_creation_1h_input_tokens
        + u.cache_read_input_tokens + u.output_tokens   AS total_tokens,
    u.web_search_requests,
    coalesce(a.allocated_cost_usd, 0)                   AS allocated_cost_usd
FROM intermediate.int_usage_totals AS u
LEFT JOIN allocated AS a
    ON  a.organization_id = u.organization_id AND a.date = u.date AND a.workspace_id = u.workspace_id
    AND a.api_key_id IS NOT DISTINCT FROM u.api_key_id
LEFT JOIN intermediate.int_workspace_names AS w
    ON w.organization_id = u.organization_id AND w.workspace_id = u.workspace_id
LEFT JOIN marts.dim_api_keys AS k
    ON  k.organization_id = u.organization_id
    AND k.api_key_id = u.api_key_id
    AND k.valid_from <= CAST(u.date AS TIMESTAMPTZ)
    AND (k.valid_to IS NULL OR CAST(u.date AS TIMESTAMPTZ) < k.valid_to)
LEFT JOIN owners AS o
    ON o.organization_id = k.organization_id AND o.user_id = k.owner_id
WHERE u.grouped_by = 'api_key'
