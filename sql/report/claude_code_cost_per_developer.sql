-- Claude Code estimated cost per developer this month (informational: already inside the bill).
SELECT coalesce(user_email, actor) AS label, sum(estimated_cost_usd)::DOUBLE AS value
FROM marts.claude_code_user_daily
WHERE date >= date_trunc('month', $as_of::DATE) AND date <= $as_of::DATE
GROUP BY ALL
ORDER BY value DESC
LIMIT 10
