-- Organization members with history (one row per version), so usage of deleted users still
-- resolves. As-of joins and valid_from = -infinity for the first version as in dim_workspaces;
-- is_deleted: the API no longer lists the user.
-- Grain: organization_id, user_id, valid_from
CREATE OR REPLACE TABLE marts.dim_users AS
SELECT
    organization_id,
    id                          AS user_id,
    email                       AS user_email,
    lower(email)                AS user_email_lower,
    name                        AS user_name,
    role,
    added_at,
    CASE WHEN valid_from = min(valid_from) OVER user_versions
         THEN TIMESTAMPTZ '-infinity' ELSE valid_from END AS valid_from,
    valid_to,
    is_current,
    valid_from = max(valid_from) OVER user_versions AS is_latest_version,
    NOT bool_or(is_current) OVER user_versions AS is_deleted
FROM raw.users
WINDOW user_versions AS (PARTITION BY organization_id, id)
