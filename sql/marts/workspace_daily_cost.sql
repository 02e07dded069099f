-- Billed cost per UTC day and workspace, by model, cost type, token type and service tier: the bill
-- of the day's source (intermediate.int_bill_sources), never an estimate: the cost report's cells, or
-- the Analytics API's cost per actor (marts.actor_daily_cost, which includes Priority Tier). The
-- default workspace is a named row of its own under its real ID, the same from either source; archived
-- and deleted workspaces keep their latest name; a workspace ID no entity list knows is named by its
-- ID (and reported by the unknown_ids check).
-- Grain: organization_id, date, workspace_id, cost_type, model, token_type, service_tier
-- Incremental: date
CREATE OR REPLACE TABLE marts.workspace_daily_cost AS
WITH billed AS (
    SELECT organization_id, date, workspace_id, model, cost_type, token_type, service_tier, cost_usd
    FROM intermediate.int_billed_cost_cells
    UNION ALL
    SELECT organization_id, date, workspace_id, model, cost_type, token_type, service_tier, cost_usd
    FROM marts.actor_daily_cost
)

SELECT
    c.date,
    c.organization_id,
    c.workspace_id,
    coalesce(w.workspace_name, c.workspace_id)  AS workspace_name,
    coalesce(w.is_default, false)               AS is_default_workspace,
    c.model,
    c.cost_type,
    c.token_type,
    c.service_tier,
    sum(c.cost_usd)                             AS cost_usd
FROM billed AS c
LEFT JOIN intermediate.int_workspace_names AS w USING (organization_id, workspace_id)
GROUP BY ALL
