-- Cumulative billed spend by day of month: this month against the previous month.
WITH daily AS (
    SELECT date, sum(cost_usd) AS cost_usd
    FROM marts.workspace_daily_cost
    WHERE date >= date_trunc('month', $as_of::DATE) - INTERVAL 1 MONTH AND date <= $as_of::DATE
    GROUP BY ALL
)
SELECT day(date) AS day_of_month,
       CASE WHEN date >= date_trunc('month', $as_of::DATE) THEN 'This month' ELSE 'Previous month' END AS series,
       (sum(cost_usd) OVER (PARTITION BY date_trunc('month', date) ORDER BY date))::DOUBLE AS value
FROM daily
ORDER BY series, day_of_month
