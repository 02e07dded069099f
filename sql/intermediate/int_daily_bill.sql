-- The bill per organization and UTC day, straight from the day's source (intermediate.int_bill_sources):
-- the cost report's line items, or the Analytics API's cost rows of one grouping ('actor'). The billed
-- totals of the marts must add up to it exactly.
-- Grain: organization_id, date
-- Incremental: date
CREATE OR REPLACE TABLE intermediate.int_daily_bill AS
WITH bills AS (
    SELECT organization_id, CAST(bucket_start AS DATE) AS date, 'legacy' AS source, amount_usd
    FROM raw.cost_report
    UNION ALL
    SELECT organization_id, CAST(bucket_start AS DATE) AS date, 'analytics' AS source, amount_usd
    FROM raw.analytics_cost
    WHERE grouping = 'actor'
)

SELECT organization_id, date, source, sum(amount_usd) AS billed_usd
FROM bills
JOIN intermediate.int_bill_sources USING (organization_id, date, source)
GROUP BY ALL
