-- Per-day totals of raw.messages_usage for one organization and window (load log measures).
SELECT (bucket_start AT TIME ZONE 'UTC')::DATE AS partition_date,
       count(*) AS rows,
       sum(uncached_input_tokens + cache_creation_5m_input_tokens + cache_creation_1h_input_tokens
           + cache_read_input_tokens + output_tokens)::BIGINT AS tokens,
       NULL::DECIMAL(38,12) AS cost_cents
FROM raw.messages_usage
WHERE organization_id = $organization_id AND bucket_start >= $window_start AND bucket_start < $window_end
GROUP BY ALL
