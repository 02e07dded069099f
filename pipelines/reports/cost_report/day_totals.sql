-- Per-day totals of raw.cost_report for one organization and window (load log measures).
SELECT (bucket_start AT TIME ZONE 'UTC')::DATE AS partition_date,
       count(*) AS rows,
       NULL::BIGINT AS tokens,
       sum(amount_cents)::DECIMAL(38,12) AS cost_cents
FROM raw.cost_report
WHERE organization_id = $organization_id AND bucket_start >= $window_start AND bucket_start < $window_end
GROUP BY ALL
