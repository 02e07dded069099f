-- Cost centers plus unmapped rows equal the billed total of each day and workspace exactly. Lists
-- the days and workspaces where they do not.
-- Asset: marts.cost_center_daily_cost
-- Severity: ERROR
-- Incremental: date
WITH cost_centers AS (
    SELECT organization_id, date, workspace_id, sum(cost_usd) AS cost_centers_usd
    FROM marts.cost_center_daily_cost
    GROUP BY ALL
),

billed AS (
    SELECT organization_id, date, workspace_id, sum(cost_usd) AS billed_usd
    FROM marts.workspace_daily_cost
    GROUP BY ALL
)

SELECT organization_id, date, workspace_id, b.billed_usd, c.cost_centers_usd
FROM billed AS b
FULL JOIN cost_centers AS c USING (organization_id, date, workspace_id)
WHERE c.cost_centers_usd IS DISTINCT FROM b.billed_usd
ORDER BY abs(coalesce(b.billed_usd, 0) - coalesce(c.cost_centers_usd, 0)) DESC
