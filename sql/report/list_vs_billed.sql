-- List price against billed cost per day over the 30 days up to the reference day (days from the
-- Analytics API, which reports both); the gap is the discount.
SELECT date, unnest(['List', 'Billed']) AS series, unnest([sum(list_cost_usd), sum(cost_usd)])::DOUBLE AS value
FROM marts.actor_daily_cost
WHERE date > $as_of::DATE - 30 AND date <= $as_of::DATE
GROUP BY date
ORDER BY date, series
