-- API keys with history (one row per version): name, status, owner and workspace as of any date
-- (as-of joins and valid_from = -infinity for the first version as in dim_workspaces).
-- Both API shapes resolve the same way: the owner is the principal, else created_by (a user or a
-- service account); the workspace is scope.workspace_id, else the deprecated workspace_id, else
-- the default workspace (null in the older shape). is_deleted: the API no longer lists the key.
-- Grain: organization_id, api_key_id, valid_from
CREATE OR REPLACE TABLE marts.dim_api_keys AS
SELECT
    k.organization_id,
    k.id                                                        AS api_key_id,
    k.name                                                      AS api_key_name,
    k.status,
    coalesce(k.scope_workspace_id, k.workspace_id, d.workspace_id) AS workspace_id,
    coalesce(k.scope_type, 'workspace')                         AS scope_type,
    CASE WHEN k.principal_id IS NOT NULL THEN k.principal_type ELSE k.created_by_type END AS owner_type,
    coalesce(k.principal_id, k.created_by_id)                   AS owner_id,
    k.created_by_type,
    k.created_by_id,
    k.created_at,
    k.expires_at,
    k.partial_key_hint,
    CASE WHEN k.valid_from = min(k.valid_from) OVER key_versions
         THEN TIMESTAMPTZ '-infinity' ELSE k.valid_from END      AS valid_from,
    k.valid_to,
    k.is_current,
    k.valid_from = max(k.valid_from) OVER key_versions          AS is_latest_version,
    NOT bool_or(k.is_current) OVER key_versions                 AS is_deleted
FROM raw.api_keys AS k
LEFT JOIN intermediate.int_default_workspaces AS d USING (organization_id)
WINDOW key_versions AS (PARTITION BY k.organization_id, k.id)
