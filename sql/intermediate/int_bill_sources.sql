-- Where the bill of each organization and UTC day comes from, so the marts take it from exactly one
-- source: 'analytics' (raw.analytics_cost, the Usage and Cost Analytics API) when the load log has a
-- load of it for that day, else 'legacy' (raw.cost_report). A day either was loaded from has a source,
-- whichever side of 2026-01-01 it is on. loaded_from_both: both were loaded for the day (a user can ask
-- for both), the days marts.source_reconciliation compares.
-- Grain: organization_id, date
-- Incremental: date
CREATE OR REPLACE TABLE intermediate.int_bill_sources AS
SELECT
    organization_id,
    partition_date                                                      AS date,
    CASE WHEN bool_or(table_name = 'raw.analytics_cost') THEN 'analytics' ELSE 'legacy' END AS source,
    bool_or(table_name = 'raw.analytics_cost') AND bool_or(table_name = 'raw.cost_report') AS loaded_from_both
FROM raw.load_log
WHERE table_name IN ('raw.analytics_cost', 'raw.cost_report')
GROUP BY ALL
