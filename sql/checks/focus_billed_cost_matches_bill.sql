-- The FOCUS export's BilledCost (original rows plus corrections) adds up to the bill of the day's
-- source (intermediate.int_daily_bill) for every charge day exactly. Lists the days where it does not.
-- Asset: marts.focus_costs
-- Severity: ERROR
-- Incremental: date
SELECT organization_id, date, b.billed_usd, f.focus_billed_usd
FROM intermediate.int_daily_bill AS b
FULL JOIN (
    SELECT BillingAccountId AS organization_id, CAST(ChargePeriodStart AS DATE) AS date,
           sum(BilledCost) AS focus_billed_usd
    FROM marts.focus_costs
    GROUP BY ALL
) AS f USING (organization_id, date)
WHERE f.focus_billed_usd IS DISTINCT FROM b.billed_usd
ORDER BY date
