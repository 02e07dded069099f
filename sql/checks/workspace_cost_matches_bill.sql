-- The workspace costs of each day add up to the bill of the day's source (the cost report or the
-- Analytics API, intermediate.int_daily_bill) exactly. Lists the days where they do not.
-- Asset: marts.workspace_daily_cost
-- Severity: ERROR
-- Incremental: date
SELECT organization_id, date, b.billed_usd, w.workspaces_usd
FROM intermediate.int_daily_bill AS b
FULL JOIN (
    SELECT organization_id, date, sum(cost_usd) AS workspaces_usd
    FROM marts.workspace_daily_cost
    GROUP BY ALL
) AS w USING (organization_id, date)
WHERE w.workspaces_usd IS DISTINCT FROM b.billed_usd
ORDER BY date
