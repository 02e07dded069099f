-- Spend and usage on workspace or API key IDs that no entity list knows (a deleted key, a workspace
-- created after the last entity snapshot, ...): their cost cannot be named or attributed. Lists them
-- with their billed cost and the days they appear.
-- Asset: marts.cost_allocation
-- Severity: WARN
WITH known_workspaces AS (
    SELECT DISTINCT organization_id, workspace_id FROM marts.dim_workspaces
),

known_keys AS (
    SELECT DISTINCT organization_id, api_key_id FROM marts.dim_api_keys
),

workspace_ids AS (
    SELECT organization_id, date, workspace_id FROM intermediate.int_billed_cost_cells
    UNION
    SELECT organization_id, date, workspace_id FROM intermediate.int_usage_daily
),

unknown AS (
    SELECT 'workspace' AS kind, organization_id, workspace_id AS id, min(date) AS first_day, max(date) AS last_day
    FROM workspace_ids
    ANTI JOIN known_workspaces USING (organization_id, workspace_id)
    GROUP BY ALL
    UNION ALL
    SELECT 'api_key', organization_id, api_key_id, min(date), max(date)
    FROM intermediate.int_usage_daily
    ANTI JOIN known_keys USING (organization_id, api_key_id)
    WHERE api_key_id IS NOT NULL
    GROUP BY ALL
),

spend AS (
    SELECT 'workspace' AS kind, organization_id, workspace_id AS id, sum(cost_usd) AS cost_usd
    FROM marts.cost_allocation GROUP BY ALL
    UNION ALL
    SELECT 'api_key', organization_id, api_key_id, sum(cost_usd)
    FROM marts.cost_allocation WHERE api_key_id IS NOT NULL GROUP BY ALL
)

SELECT u.kind, u.organization_id, u.id, coalesce(s.cost_usd, 0) AS cost_usd, u.first_day, u.last_day
FROM unknown AS u
LEFT JOIN spend AS s USING (kind, organization_id, id)
ORDER BY cost_usd DESC
