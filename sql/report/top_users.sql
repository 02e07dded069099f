-- The ten people (or unattributed reasons) with the most billed cost this month.
SELECT coalesce(user_email, 'unattributed: ' || unattributed_reason) AS label, sum(cost_usd)::DOUBLE AS value
FROM marts.user_daily_cost
WHERE date >= date_trunc('month', $as_of::DATE) AND date <= $as_of::DATE
GROUP BY ALL
ORDER BY value DESC
LIMIT 10
