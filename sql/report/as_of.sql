-- The report's reference day: the latest day with billed cost ("this month" is its month).
SELECT max(date) AS as_of FROM marts.workspace_daily_cost
