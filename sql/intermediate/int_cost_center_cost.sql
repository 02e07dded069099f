-- The bill of each UTC day per workspace, API key and user, from the day's source (the allocations of
-- marts.cost_allocation on cost-report days, the cost per actor of marts.actor_daily_cost on Analytics
-- API days: the rows marts.user_daily_cost sums), with the team and cost center it goes to: the
-- mapping of marts.cost_centers in force that day for the user (by user ID, else email), else for the
-- API key, else for the workspace. mapped_by says which; all three are NULL when none applies.
-- Grain: organization_id, date, workspace_id, api_key_id, user_id
-- Incremental: date
CREATE OR REPLACE TABLE intermediate.int_cost_center_cost AS
WITH cost AS (
    SELECT date, organization_id, workspace_id, workspace_name, api_key_id, user_id, NULL AS actor_email, cost_usd
    FROM marts.cost_allocation
    UNION ALL
    SELECT date, organization_id, workspace_id, workspace_name,
           CASE WHEN actor_type = 'api_actor' THEN actor_id ELSE api_key_id END, user_id, actor_email, cost_usd
    FROM marts.actor_daily_cost
),

subjects AS (
    SELECT
        c.date, c.organization_id, c.workspace_id, c.api_key_id, c.user_id,
        any_value(c.workspace_name)                                         AS workspace_name,
        lower(any_value(coalesce(u.user_email, c.actor_email)))             AS user_email,
        sum(c.cost_usd)                                                     AS cost_usd
    FROM cost AS c
    LEFT JOIN marts.dim_users AS u
        ON u.is_latest_version AND u.organization_id = c.organization_id AND u.user_id = c.user_id
    GROUP BY c.date, c.organization_id, c.workspace_id, c.api_key_id, c.user_id
),

mapping AS (
    SELECT kind, subject, valid_from, valid_to, {'team': team, 'cost_center': cost_center, 'mapped_by': kind} AS assignment
    FROM marts.cost_centers
),

assigned AS (
    SELECT
        s.*,
        coalesce(by_user_id.assignment, by_email.assignment, by_key.assignment, by_workspace.assignment) AS assignment
    FROM subjects AS s
    LEFT JOIN mapping AS by_user_id
        ON by_user_id.kind = 'user' AND by_user_id.subject = s.user_id
        AND s.date >= by_user_id.valid_from AND (by_user_id.valid_to IS NULL OR s.date < by_user_id.valid_to)
    LEFT JOIN mapping AS by_email
        ON by_email.kind = 'user' AND by_email.subject = s.user_email
        AND s.date >= by_email.valid_from AND (by_email.valid_to IS NULL OR s.date < by_email.valid_to)
    LEFT JOIN mapping AS by_key
        ON by_key.kind = 'api_key' AND by_key.subject = s.api_key_id
        AND s.date >= by_key.valid_from AND (by_key.valid_to IS NULL OR s.date < by_key.valid_to)
    LEFT JOIN mapping AS by_workspace
        ON by_workspace.kind = 'workspace' AND by_workspace.subject = s.workspace_id
        AND s.date >= by_workspace.valid_from AND (by_workspace.valid_to IS NULL OR s.date < by_workspace.valid_to)
)

SELECT
    date, organization_id, workspace_id, workspace_name, api_key_id, user_id, user_email,
    assignment.team             AS team,
    assignment.cost_center      AS cost_center,
    assignment.mapped_by        AS mapped_by,
    cost_usd
FROM assigned
