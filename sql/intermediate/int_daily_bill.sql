-- The bill per organization and UTC day: the cost report's line items summed, straight from the
-- report, which the billed totals of the marts must add up to exactly.
-- Grain: organization_id, date
-- Incremental: date
CREATE OR REPLACE TABLE intermediate.int_daily_bill AS
SELECT organization_id, CAST(bucket_start AS DATE) AS date, sum(amount_usd) AS billed_usd
FROM raw.cost_report
GROUP BY ALL
