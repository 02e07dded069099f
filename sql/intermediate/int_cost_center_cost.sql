-- The bill of each UTC day per workspace, API key, person, service account, federated identity and
-- product, with the team and cost center it goes to: the mapping of marts.cost_centers in force that
-- day for the actor (the user by user ID, else email; the service account; the federated subject),
-- else for the API key, else for the product, else for the workspace. mapped_by says which; all three
-- are NULL when none applies.
-- Cost-report days: the allocations of marts.cost_allocation (users and keys, no actor, no product).
-- Analytics API days: the cost rows grouped for chargeback (workspace, actor, API key, product), users
-- attributed as in marts.actor_daily_cost (intermediate.int_actor_attribution); a day loaded before
-- that grouping existed has no chargeback rows and takes marts.actor_daily_cost's rows, without product.
-- Grain: organization_id, date, workspace_id, api_key_id, user_id, service_account_id, federated_subject, product
-- Incremental: date
CREATE OR REPLACE TABLE intermediate.int_cost_center_cost AS
WITH chargeback AS (
    SELECT
        c.organization_id,
        CAST(c.bucket_start AS DATE)                    AS date,
        coalesce(c.workspace_id, d.workspace_id)        AS workspace_id,
        c.actor_type, c.actor_id, c.federated_subject, c.api_key_id, c.product,
        any_value(c.actor_email)                        AS actor_email,
        sum(c.amount_usd)                               AS cost_usd
    FROM raw.analytics_cost AS c
    LEFT JOIN intermediate.int_default_workspaces AS d ON d.organization_id = c.organization_id
    WHERE c.grouping = 'chargeback'
    GROUP BY ALL
),

analytics AS (
    SELECT c.*, coalesce(w.workspace_name, c.workspace_id) AS workspace_name, t.user_id
    FROM chargeback AS c
    LEFT JOIN intermediate.int_workspace_names AS w
        ON w.organization_id = c.organization_id AND w.workspace_id = c.workspace_id
    LEFT JOIN intermediate.int_actor_attribution AS t
        ON  t.organization_id = c.organization_id
        AND t.date = c.date
        AND t.actor_type IS NOT DISTINCT FROM c.actor_type
        AND t.actor_id IS NOT DISTINCT FROM c.actor_id
        AND t.api_key_id IS NOT DISTINCT FROM c.api_key_id
    UNION ALL BY NAME
    SELECT date, organization_id, workspace_id, workspace_name, actor_type, actor_id, federated_subject, api_key_id,
           NULL AS product, actor_email, user_id, cost_usd
    FROM marts.actor_daily_cost AS a
    WHERE NOT EXISTS (SELECT 1 FROM chargeback AS c WHERE c.organization_id = a.organization_id AND c.date = a.date)
),

cost AS (
    SELECT date, organization_id, workspace_id, workspace_name, api_key_id, user_id, NULL AS actor_email,
           NULL AS service_account_id, NULL AS federated_subject, NULL AS product, cost_usd
    FROM marts.cost_allocation
    UNION ALL
    SELECT date, organization_id, workspace_id, workspace_name,
           CASE WHEN actor_type = 'api_actor' THEN actor_id ELSE api_key_id END, user_id, actor_email,
           CASE WHEN actor_type = 'service_account_actor' THEN actor_id END,
           CASE WHEN actor_type = 'federated_actor' THEN federated_subject END,
           product, cost_usd
    FROM analytics
),

subjects AS (
    SELECT
        c.date, c.organization_id, c.workspace_id, c.api_key_id, c.user_id, c.service_account_id,
        c.federated_subject, c.product,
        any_value(c.workspace_name)                                         AS workspace_name,
        lower(any_value(coalesce(u.user_email, c.actor_email)))             AS user_email,
        sum(c.cost_usd)                                                     AS cost_usd
    FROM cost AS c
    LEFT JOIN marts.dim_users AS u
        ON u.is_latest_version AND u.organization_id = c.organization_id AND u.user_id = c.user_id
    GROUP BY c.date, c.organization_id, c.workspace_id, c.api_key_id, c.user_id, c.service_account_id,
             c.federated_subject, c.product
),

mapping AS (
    SELECT kind, subject, valid_from, valid_to, {'team': team, 'cost_center': cost_center, 'mapped_by': kind} AS assignment
    FROM marts.cost_centers
),

assigned AS (
    SELECT
        s.*,
        coalesce(by_user_id.assignment, by_email.assignment, by_service_account.assignment, by_federated.assignment,
                 by_key.assignment, by_product.assignment, by_workspace.assignment) AS assignment
    FROM subjects AS s
    LEFT JOIN mapping AS by_user_id
        ON by_user_id.kind = 'user' AND by_user_id.subject = s.user_id
        AND s.date >= by_user_id.valid_from AND (by_user_id.valid_to IS NULL OR s.date < by_user_id.valid_to)
    LEFT JOIN mapping AS by_email
        ON by_email.kind = 'user' AND by_email.subject = s.user_email
        AND s.date >= by_email.valid_from AND (by_email.valid_to IS NULL OR s.date < by_email.valid_to)
    LEFT JOIN mapping AS by_service_account
        ON by_service_account.kind = 'service_account' AND by_service_account.subject = s.service_account_id
        AND s.date >= by_service_account.valid_from
        AND (by_service_account.valid_to IS NULL OR s.date < by_service_account.valid_to)
    LEFT JOIN mapping AS by_federated
        ON by_federated.kind = 'federated' AND by_federated.subject = s.federated_subject
        AND s.date >= by_federated.valid_from AND (by_federated.valid_to IS NULL OR s.date < by_federated.valid_to)
    LEFT JOIN mapping AS by_key
        ON by_key.kind = 'api_key' AND by_key.subject = s.api_key_id
        AND s.date >= by_key.valid_from AND (by_key.valid_to IS NULL OR s.date < by_key.valid_to)
    LEFT JOIN mapping AS by_product
        ON by_product.kind = 'product' AND by_product.subject = s.product
        AND s.date >= by_product.valid_from AND (by_product.valid_to IS NULL OR s.date < by_product.valid_to)
    LEFT JOIN mapping AS by_workspace
        ON by_workspace.kind = 'workspace' AND by_workspace.subject = s.workspace_id
        AND s.date >= by_workspace.valid_from AND (by_workspace.valid_to IS NULL OR s.date < by_workspace.valid_to)
)

SELECT
    date, organization_id, workspace_id, workspace_name, api_key_id, user_id, user_email, service_account_id,
    federated_subject, product,
    assignment.team             AS team,
    assignment.cost_center      AS cost_center,
    assignment.mapped_by        AS mapped_by,
    cost_usd
FROM assigned
