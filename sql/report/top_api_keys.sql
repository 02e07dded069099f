-- The ten API keys with the most allocated billed cost this month.
SELECT coalesce(api_key_name, api_key_id, 'Console / Workbench') AS label, sum(allocated_cost_usd)::DOUBLE AS value
FROM marts.api_key_daily_usage
WHERE date >= date_trunc('month', $as_of::DATE) AND date <= $as_of::DATE
GROUP BY ALL
ORDER BY value DESC
LIMIT 10
