-- Per-day totals of raw.analytics_usage for one organization and window (load log measures), of the
-- 'actor' grouping only (the 'product' grouping counts the same tokens again).
SELECT (bucket_start AT TIME ZONE 'UTC')::DATE AS partition_date,
       count(*) AS rows,
       sum(total_tokens) FILTER (WHERE grouping = 'actor')::BIGINT AS tokens,
       NULL::DECIMAL(38,12) AS cost_cents
FROM raw.analytics_usage
WHERE organization_id = $organization_id AND bucket_start >= $window_start AND bucket_start < $window_end
GROUP BY ALL
