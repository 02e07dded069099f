-- The bill per cell on the days whose bill comes from the cost report (intermediate.int_bill_sources):
-- its line items summed to (day, workspace, cost type, model, token type, tier, context window, geo),
-- the finest grain usage can be matched on. Non-token costs (web search, code execution, session
-- usage) have no model or token type. The default workspace under its real ID.
-- Grain: organization_id, date, workspace_id, cost_type, model, token_type, service_tier, context_window, inference_geo
-- Incremental: date
CREATE OR REPLACE TABLE intermediate.int_billed_cost_cells AS
SELECT
    c.organization_id,
    CAST(c.bucket_start AS DATE)                                AS date,
    coalesce(c.workspace_id, d.workspace_id)                    AS workspace_id,
    c.cost_type, c.model, c.token_type, c.service_tier, c.context_window, c.inference_geo, c.currency,
    string_agg(DISTINCT c.description, '; ' ORDER BY c.description) AS description,
    sum(c.amount_usd)                                           AS cost_usd
FROM raw.cost_report AS c
JOIN intermediate.int_bill_sources AS s
    ON s.organization_id = c.organization_id AND s.date = CAST(c.bucket_start AS DATE) AND s.source = 'legacy'
LEFT JOIN intermediate.int_default_workspaces AS d ON d.organization_id = c.organization_id
GROUP BY ALL
