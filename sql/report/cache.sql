-- Daily cache hit ratio (cache reads / all input tokens) and the estimated net saving from caching.
SELECT date,
       (sum(cache_read_input_tokens) / nullif(sum(uncached_input_tokens + cache_creation_5m_input_tokens
           + cache_creation_1h_input_tokens + cache_read_input_tokens), 0))::DOUBLE AS hit_ratio,
       sum(estimated_net_cache_savings_usd)::DOUBLE AS net_savings_usd
FROM marts.model_daily_usage
WHERE date > $as_of::DATE - 30 AND date <= $as_of::DATE
GROUP BY ALL
ORDER BY date
