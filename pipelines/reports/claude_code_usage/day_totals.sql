-- Per-day totals of the Claude Code tables for one organization and window (load log measures).
-- Cost here is the API's estimate, never billed money.
WITH usage AS (
    SELECT date AS partition_date, count(*) AS rows
    FROM raw.claude_code_usage
    WHERE organization_id = $organization_id AND date >= $window_start::DATE AND date < $window_end::DATE
    GROUP BY ALL
), models AS (
    SELECT date AS partition_date,
           sum(input_tokens + output_tokens + cache_read_tokens + cache_creation_tokens)::BIGINT AS tokens,
           sum(estimated_cost_cents)::DECIMAL(38,12) AS cost_cents
    FROM raw.claude_code_model_usage
    WHERE organization_id = $organization_id AND date >= $window_start::DATE AND date < $window_end::DATE
    GROUP BY ALL
)
SELECT partition_date, coalesce(usage.rows, 0) AS rows, models.tokens, models.cost_cents
FROM usage FULL OUTER JOIN models USING (partition_date)
