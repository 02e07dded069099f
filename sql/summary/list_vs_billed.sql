-- List price against billed cost per model over the days loaded from the Analytics API, which
-- reports both: the difference is the discount. Costs without a model are named by their cost type.
SELECT coalesce(model, cost_type, 'other')   AS model,
       round(sum(list_cost_usd), 2)          AS list_usd,
       round(sum(cost_usd), 2)               AS billed_usd,
       round(sum(discount_usd), 2)           AS discount_usd
FROM marts.actor_daily_cost
GROUP BY ALL
ORDER BY billed_usd DESC
