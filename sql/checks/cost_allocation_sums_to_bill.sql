-- Every billed cell is allocated, and its allocations (allocated and unallocated rows) sum exactly
-- to its billed cost. Lists the cells that do not.
-- Asset: marts.cost_allocation
-- Severity: ERROR
-- Incremental: date
WITH allocated AS (
    SELECT organization_id, date, workspace_id, cost_type, model, token_type, service_tier,
           context_window, inference_geo, sum(cost_usd) AS allocated_usd
    FROM marts.cost_allocation
    GROUP BY ALL
)

SELECT
    coalesce(c.organization_id, a.organization_id)  AS organization_id,
    coalesce(c.date, a.date)                        AS date,
    coalesce(c.workspace_id, a.workspace_id)        AS workspace_id,
    coalesce(c.cost_type, a.cost_type)              AS cost_type,
    coalesce(c.model, a.model)                      AS model,
    coalesce(c.token_type, a.token_type)            AS token_type,
    c.cost_usd                                      AS billed_usd,
    a.allocated_usd
FROM intermediate.int_billed_cost_cells AS c
FULL JOIN allocated AS a
    ON  a.organization_id = c.organization_id AND a.date = c.date AND a.workspace_id = c.workspace_id
    AND a.cost_type IS NOT DISTINCT FROM c.cost_type AND a.model IS NOT DISTINCT FROM c.model
    AND a.token_type IS NOT DISTINCT FROM c.token_type AND a.service_tier IS NOT DISTINCT FROM c.service_tier
    AND a.context_window IS NOT DISTINCT FROM c.context_window
    AND a.inference_geo IS NOT DISTINCT FROM c.inference_geo
WHERE a.allocated_usd IS DISTINCT FROM c.cost_usd
ORDER BY abs(coalesce(c.cost_usd, 0) - coalesce(a.allocated_usd, 0)) DESC
