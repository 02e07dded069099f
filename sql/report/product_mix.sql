-- Billed spend per product this month (days from the Analytics API; NULL = not attributable to a product).
SELECT coalesce(product, 'other') AS label, sum(cost_usd)::DOUBLE AS value
FROM marts.product_daily_usage_cost
WHERE date >= date_trunc('month', $as_of::DATE) AND date <= $as_of::DATE
GROUP BY ALL
ORDER BY value DESC
