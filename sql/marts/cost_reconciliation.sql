-- Billed cost against usage priced at list, per UTC day and workspace of the days whose bill comes
-- from the cost report (on Analytics API days the bill itself has the list cost: see
-- marts.actor_daily_cost), with the difference explained. Identity (exact):
--   difference_usd = billed_usd - usage_at_list_usd
--                  = web_search_usd + code_execution_usd + session_usage_usd
--                    - priority_tier_usd_estimated + unexplained_usd
-- usage_at_list_usd prices every usage token (marts.list_prices). The cost report leaves out
-- Priority Tier usage (priority_tier_usd_estimated: that usage at the standard list rate, an
-- estimate, labelled as such) and bills web search, code execution and session usage, which no token
-- price covers. unexplained_usd is the rest: token costs that differ from list (negotiated rates,
-- the long-context or fast-mode premiums, price changes missing from the price table, late data in
-- one report but not the other), cost types the pipeline does not know, and the billed cost of
-- unpriced_tokens (models without a list price).
-- Grain: organization_id, date, workspace_id
-- Incremental: date
CREATE OR REPLACE TABLE marts.cost_reconciliation AS
WITH billed AS (
    SELECT
        organization_id, date, workspace_id,
        sum(cost_usd)                                                           AS billed_usd,
        coalesce(sum(cost_usd) FILTER (WHERE cost_type = 'tokens'), 0)          AS billed_tokens_usd,
        coalesce(sum(cost_usd) FILTER (WHERE cost_type = 'web_search'), 0)      AS web_search_usd,
        coalesce(sum(cost_usd) FILTER (WHERE cost_type = 'code_execution'), 0)  AS code_execution_usd,
        coalesce(sum(cost_usd) FILTER (WHERE cost_type = 'session_usage'), 0)   AS session_usage_usd
    FROM intermediate.int_billed_cost_cells
    GROUP BY ALL
),

estimated AS (
    SELECT
        organization_id, date, workspace_id,
        coalesce(sum(estimated_list_usd), 0)                                    AS usage_at_list_usd,
        coalesce(sum(estimated_list_usd) FILTER (WHERE service_tier = 'priority'), 0) AS priority_tier_usd_estimated,
        coalesce(sum(tokens) FILTER (WHERE list_usd_per_mtok IS NULL), 0)       AS unpriced_tokens
    FROM intermediate.int_usage_priced
    SEMI JOIN (SELECT organization_id, date FROM intermediate.int_bill_sources WHERE source = 'legacy')
        USING (organization_id, date)
    GROUP BY ALL
),

compared AS (
    SELECT
        organization_id, date, workspace_id,
        coalesce(w.workspace_name, workspace_id) AS workspace_name,
        coalesce(b.billed_usd, 0)               AS billed_usd,
        coalesce(b.billed_tokens_usd, 0)        AS billed_tokens_usd,
        coalesce(e.usage_at_list_usd, 0)        AS usage_at_list_usd,
        coalesce(b.web_search_usd, 0)           AS web_search_usd,
        coalesce(b.code_execution_usd, 0)       AS code_execution_usd,
        coalesce(b.session_usage_usd, 0)        AS session_usage_usd,
        coalesce(e.priority_tier_usd_estimated, 0) AS priority_tier_usd_estimated,
        coalesce(e.unpriced_tokens, 0)          AS unpriced_tokens
    FROM billed AS b
    FULL JOIN estimated AS e USING (organization_id, date, workspace_id)
    LEFT JOIN intermediate.int_workspace_names AS w USING (organization_id, workspace_id)
)

SELECT
    c.date,
    c.organization_id,
    c.workspace_id,
    c.workspace_name,
    c.billed_usd,
    c.billed_tokens_usd,
    c.usage_at_list_usd,
    c.billed_usd - c.usage_at_list_usd          AS difference_usd,
    c.web_search_usd,
    c.code_execution_usd,
    c.session_usage_usd,
    c.priority_tier_usd_estimated,
    c.billed_usd - c.usage_at_list_usd
        - (c.web_search_usd + c.code_execution_usd + c.session_usage_usd - c.priority_tier_usd_estimated)
                                                AS unexplained_usd,
    c.unpriced_tokens
FROM compared AS c
