-- Rows of the cost-center mapping whose subject no entity list knows and no cost row carries (a typo,
-- a key deleted before the first snapshot, a workspace not created yet, a service account, federated
-- subject or product that never spent): they map nothing. Lists them with the file and line they came from.
-- Asset: marts.cost_centers
-- Severity: WARN
WITH known AS (
    SELECT 'workspace' AS kind, workspace_id AS subject FROM marts.dim_workspaces
    UNION SELECT 'api_key', api_key_id FROM marts.dim_api_keys
    UNION SELECT 'user', user_id FROM marts.dim_users
    UNION SELECT 'user', lower(user_email) FROM marts.dim_users
    UNION SELECT 'service_account', owner_id FROM marts.dim_api_keys WHERE owner_type = 'service_account'
    UNION SELECT 'product', product FROM marts.product_daily_usage_cost
    UNION SELECT 'workspace', workspace_id FROM intermediate.int_cost_center_cost
    UNION SELECT 'api_key', api_key_id FROM intermediate.int_cost_center_cost
    UNION SELECT 'user', user_id FROM intermediate.int_cost_center_cost
    UNION SELECT 'user', user_email FROM intermediate.int_cost_center_cost
    UNION SELECT 'service_account', service_account_id FROM intermediate.int_cost_center_cost
    UNION SELECT 'federated', federated_subject FROM intermediate.int_cost_center_cost
    UNION SELECT 'product', product FROM intermediate.int_cost_center_cost
)

SELECT source_line, kind, subject, team, cost_center
FROM marts.cost_centers
ANTI JOIN known USING (kind, subject)
ORDER BY source_order
