-- Users plus unattributed rows equal the billed total of each day and workspace exactly, on the
-- days of either bill source. Lists the days and workspaces where they do not.
-- Asset: marts.user_daily_cost
-- Severity: ERROR
-- Incremental: date
WITH users AS (
    SELECT organization_id, date, workspace_id, sum(cost_usd) AS users_usd
    FROM marts.user_daily_cost
    GROUP BY ALL
),

billed AS (
    SELECT organization_id, date, workspace_id, sum(cost_usd) AS billed_usd
    FROM marts.workspace_daily_cost
    GROUP BY ALL
)

SELECT organization_id, date, workspace_id, b.billed_usd, u.users_usd
FROM billed AS b
FULL JOIN users AS u USING (organization_id, date, workspace_id)
WHERE u.users_usd IS DISTINCT FROM b.billed_usd
ORDER BY abs(coalesce(b.billed_usd, 0) - coalesce(u.users_usd, 0)) DESC
