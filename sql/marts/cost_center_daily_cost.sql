-- Billed cost per UTC day, cost center, team and workspace, for chargeback: each day's cost goes to the
-- cost center as of that day of its actor (user, service account or federated identity), else of its
-- API key, else of its product, else of its workspace (intermediate.int_cost_center_cost, mapping in
-- marts.cost_centers; no actor nor product on cost-report days). Cost no mapping covers is one
-- explicit row per day and workspace with cost_center and team NULL and unmapped_reason 'no_mapping'.
-- The rows of a day and workspace sum to its bill exactly.
-- Grain: organization_id, date, workspace_id, cost_center, team
-- Incremental: date
CREATE OR REPLACE TABLE marts.cost_center_daily_cost AS
SELECT
    date,
    organization_id,
    workspace_id,
    any_value(workspace_name)                                   AS workspace_name,
    cost_center,
    team,
    CASE WHEN cost_center IS NULL THEN 'no_mapping' END         AS unmapped_reason,
    sum(cost_usd)                                               AS cost_usd
FROM intermediate.int_cost_center_cost
GROUP BY date, organization_id, workspace_id, cost_center, team
