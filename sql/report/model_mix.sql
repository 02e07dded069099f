-- Tokens per model this month (all token types).
SELECT model AS label,
       sum(uncached_input_tokens + cache_creation_5m_input_tokens + cache_creation_1h_input_tokens
           + cache_read_input_tokens + output_tokens)::DOUBLE AS value
FROM marts.model_daily_usage
WHERE date >= date_trunc('month', $as_of::DATE) AND date <= $as_of::DATE
GROUP BY ALL
ORDER BY value DESC
