-- Billed cost per UTC day, workspace and person, from the day's source: the allocations of
-- marts.cost_allocation on cost-report days, the cost per actor of marts.actor_daily_cost on Analytics
-- API days, summed by the user they are attributed to (see there), with one explicit row per reason
-- for what is not attributable (user_id NULL, unattributed_reason set). Users plus unattributed rows
-- equal the billed total of each day and workspace exactly. Names and emails are the users' latest
-- known, else the actor's as the Analytics API reported it.
-- Grain: organization_id, date, workspace_id, user_id, unattributed_reason
-- Incremental: date
CREATE OR REPLACE TABLE marts.user_daily_cost AS
WITH attributed AS (
    SELECT date, organization_id, workspace_id, workspace_name, user_id, unattributed_reason, cost_usd
    FROM marts.cost_allocation
    UNION ALL BY NAME
    SELECT date, organization_id, workspace_id, workspace_name, user_id, unattributed_reason, cost_usd,
           actor_email, actor_name
    FROM marts.actor_daily_cost
),

users AS (
    SELECT organization_id, user_id, user_email, user_name FROM marts.dim_users WHERE is_latest_version
)

SELECT
    a.date,
    a.organization_id,
    a.workspace_id,
    any_value(a.workspace_name)                         AS workspace_name,
    a.user_id,
    any_value(coalesce(u.user_email, a.actor_email))    AS user_email,
    any_value(coalesce(u.user_name, a.actor_name))      AS user_name,
    a.unattributed_reason,
    sum(a.cost_usd)                                     AS cost_usd
FROM attributed AS a
LEFT JOIN users AS u USING (organization_id, user_id)
GROUP BY a.date, a.organization_id, a.workspace_id, a.user_id, a.unattributed_reason
