-- Billed spend per workspace over everything loaded (the default workspace under its marts name).
SELECT workspace_name                AS workspace,
       min(date)                     AS first_day,
       max(date)                     AS last_day,
       round(sum(cost_usd), 2)       AS cost_usd
FROM marts.workspace_daily_cost
GROUP BY ALL
ORDER BY cost_usd DESC
