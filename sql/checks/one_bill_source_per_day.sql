-- No day takes its bill from two sources: no organization and UTC day has both cost-report cells and
-- Analytics API cost in the marts. Lists the days that do, with both amounts.
-- Asset: marts.workspace_daily_cost
-- Severity: ERROR
-- Incremental: date
WITH legacy AS (
    SELECT organization_id, date, sum(cost_usd) AS legacy_usd
    FROM intermediate.int_billed_cost_cells
    GROUP BY ALL
),

analytics AS (
    SELECT organization_id, date, sum(cost_usd) AS analytics_usd
    FROM marts.actor_daily_cost
    GROUP BY ALL
)

SELECT organization_id, date, l.legacy_usd, a.analytics_usd
FROM legacy AS l
JOIN analytics AS a USING (organization_id, date)
ORDER BY date
