-- The workspace costs of each day add up to the cost report (the bill) exactly. Lists the days
-- where they do not.
-- Asset: marts.workspace_daily_cost
-- Severity: ERROR
-- Incremental: date
WITH bill AS (
    SELECT organization_id, CAST(bucket_start AS DATE) AS date, sum(amount_usd) AS billed_usd
    FROM raw.cost_report
    GROUP BY ALL
),

workspaces AS (
    SELECT organization_id, date, sum(cost_usd) AS workspaces_usd
    FROM marts.workspace_daily_cost
    GROUP BY ALL
)

SELECT organization_id, date, b.billed_usd, w.workspaces_usd
FROM bill AS b
FULL JOIN workspaces AS w USING (organization_id, date)
WHERE w.workspaces_usd IS DISTINCT FROM b.billed_usd
ORDER BY date
