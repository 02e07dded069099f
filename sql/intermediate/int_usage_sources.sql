-- Where the usage of each organization and UTC day comes from, so the usage marts read exactly one
-- source: 'analytics' (raw.analytics_usage) when the load log has a load of it for that day, unless
-- the day's bill comes from the cost report (intermediate.int_bill_sources): then 'legacy'
-- (raw.messages_usage), the usage marts.cost_allocation splits that bill by. Any other day is 'legacy'.
-- Grain: organization_id, date
-- Incremental: date
CREATE OR REPLACE TABLE intermediate.int_usage_sources AS
SELECT
    l.organization_id,
    l.partition_date                                                    AS date,
    CASE WHEN bool_or(l.table_name = 'raw.analytics_usage') AND coalesce(any_value(b.source), 'analytics') = 'analytics'
         THEN 'analytics' ELSE 'legacy' END                             AS source
FROM raw.load_log AS l
LEFT JOIN intermediate.int_bill_sources AS b ON b.organization_id = l.organization_id AND b.date = l.partition_date
WHERE l.table_name IN ('raw.analytics_usage', 'raw.messages_usage')
GROUP BY l.organization_id, l.partition_date
