-- Billed cost per UTC day and workspace, by model, cost type, token type and service tier: the cost
-- report (the bill), never an estimate. The default workspace is a named row of its own under its
-- real ID; archived and deleted workspaces keep their latest name; a workspace ID no entity list
-- knows is named by its ID (and reported by the unknown_ids check).
-- Grain: organization_id, date, workspace_id, cost_type, model, token_type, service_tier
-- Incremental: date
CREATE OR REPLACE TABLE marts.workspace_daily_cost AS
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
FROM intermediate.int_billed_cost_cells AS c
LEFT JOIN intermediate.int_workspace_names AS w USING (organization_id, workspace_id)
GROUP BY ALL
