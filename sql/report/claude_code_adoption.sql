-- Claude Code: developers active per day over the last 30 days.
SELECT date, count(DISTINCT actor)::DOUBLE AS value
FROM marts.claude_code_user_daily
WHERE sessions > 0 AND date > $as_of::DATE - 30 AND date <= $as_of::DATE
GROUP BY ALL
ORDER BY date
