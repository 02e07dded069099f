-- Billed cost per calendar month (UTC) and workspace, in total and by cost type: the monthly
-- rollup of workspace_daily_cost. Cost types the pipeline does not know yet count in other_usd.
-- Grain: organization_id, month, workspace_id
CREATE OR REPLACE TABLE marts.workspace_monthly_cost AS
SELECT
    CAST(date_trunc('month', date) AS DATE)                                     AS month,
    organization_id,
    workspace_id,
    any_value(workspace_name)                                                   AS workspace_name,
    any_value(is_default_workspace)                                             AS is_default_workspace,
    sum(cost_usd)                                                               AS cost_usd,
    coalesce(sum(cost_usd) FILTER (WHERE cost_type = 'tokens'), 0)              AS tokens_usd,
    coalesce(sum(cost_usd) FILTER (WHERE cost_type = 'web_search'), 0)          AS web_search_usd,
    coalesce(sum(cost_usd) FILTER (WHERE cost_type = 'code_execution'), 0)      AS code_execution_usd,
    coalesce(sum(cost_usd) FILTER (WHERE cost_type = 'session_usage'), 0)       AS session_usage_usd,
    coalesce(sum(cost_usd) FILTER (WHERE cost_type IS NULL OR cost_type NOT IN
        ('tokens', 'web_search', 'code_execution', 'session_usage')), 0)        AS other_usd,
    count(DISTINCT date)                                                        AS days_with_cost
FROM marts.workspace_daily_cost
GROUP BY ALL
