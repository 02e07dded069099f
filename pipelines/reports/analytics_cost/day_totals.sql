-- Per-day totals of raw.analytics_cost for one organization and window (load log measures): the billed
-- amount of the 'actor' grouping only (the 'product' and 'chargeback' groupings bill the same cost again).
SELECT (bucket_start AT TIME ZONE 'UTC')::DATE AS partition_date,
       count(*) AS rows,
       NULL::BIGINT AS tokens,
       sum(amount_cents) FILTER (WHERE grouping = 'actor')::DECIMAL(38,12) AS cost_cents
FROM raw.analytics_cost
WHERE organization_id = $organization_id AND bucket_start >= $window_start AND bucket_start < $window_end
GROUP BY ALL
