-- Billed spend per day and workspace over the 30 days up to the reference day.
SELECT date, workspace_name AS series, sum(cost_usd)::DOUBLE AS value
FROM marts.workspace_daily_cost
WHERE date > $as_of::DATE - 30 AND date <= $as_of::DATE
GROUP BY ALL
ORDER BY date, series
