-- Workspaces over their configured monthly budget (setting `budgets`) in the latest month of data:
-- month-to-date spend above the budget, or a month-end forecast above it.
-- Asset: marts.workspace_spend_signals
-- Severity: WARN
SELECT organization_id, workspace_id, workspace_name, date AS as_of, monthly_budget_usd,
       month_to_date_usd, forecast_month_end_usd,
       CASE WHEN is_over_budget THEN 'over budget' ELSE 'forecast over budget' END AS status
FROM marts.workspace_spend_signals
QUALIFY date = max(date) OVER (PARTITION BY organization_id)
    AND (is_over_budget OR is_forecast_over_budget)
ORDER BY month_to_date_usd - monthly_budget_usd DESC
