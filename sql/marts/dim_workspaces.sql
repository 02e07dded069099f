-- Workspaces with history (one row per version), including archived ones and the default workspace.
-- The default's real ID is the one the entity snapshot lists only with include_default=true
-- (raw.workspaces.is_default); before such a snapshot, the scope.workspace_id of a new-shape API key
-- whose deprecated workspace_id is null. Until either is known, one member per organization stands
-- for it ('default'), named 'Default Workspace'.
-- As-of joins: valid_from <= t AND (valid_to IS NULL OR t < valid_to). The first known version of
-- a workspace is taken to hold since forever (valid_from = -infinity): nothing older is known.
-- is_latest_version marks the newest version, also for workspaces the API no longer lists.
-- Grain: organization_id, workspace_id, valid_from
CREATE OR REPLACE TABLE marts.dim_workspaces AS
WITH organizations AS (
    SELECT organization_id FROM raw.organization
    UNION SELECT organization_id FROM raw.cost_report
    UNION SELECT organization_id FROM raw.messages_usage
),

listed_default_ids AS (
    SELECT organization_id, min(id) AS workspace_id
    FROM raw.workspaces
    WHERE is_default
    GROUP BY organization_id
),

api_key_default_ids AS (
    SELECT organization_id, min(scope_workspace_id) AS workspace_id
    FROM raw.api_keys
    WHERE workspace_id IS NULL AND scope_type = 'workspace' AND scope_workspace_id IS NOT NULL
    GROUP BY organization_id
),

default_workspace_ids AS (
    SELECT organization_id, coalesce(l.workspace_id, k.workspace_id) AS workspace_id
    FROM listed_default_ids AS l
    FULL JOIN api_key_default_ids AS k USING (organization_id)
),

listed AS (
    SELECT
        w.organization_id,
        w.id                                        AS workspace_id,
        w.name                                      AS workspace_name,
        w.id IS NOT DISTINCT FROM d.workspace_id    AS is_default,
        w.display_color,
        w.created_at,
        w.archived_at,
        w.archived_at IS NOT NULL                   AS is_archived,
        w.workspace_geo,
        w.default_inference_geo,
        w.allowed_inference_geos,
        w.tags,
        CASE WHEN w.valid_from = min(w.valid_from) OVER (PARTITION BY w.organization_id, w.id)
             THEN TIMESTAMPTZ '-infinity' ELSE w.valid_from END AS valid_from,
        w.valid_to,
        w.is_current,
        w.valid_from = max(w.valid_from) OVER (PARTITION BY w.organization_id, w.id) AS is_latest_version
    FROM raw.workspaces AS w
    LEFT JOIN default_workspace_ids AS d USING (organization_id)
),

default_members AS (
    SELECT
        o.organization_id,
        coalesce(d.workspace_id, 'default')         AS workspace_id,
        'Default Workspace'                         AS workspace_name,
        true                                        AS is_default,
        false                                       AS is_archived,
        TIMESTAMPTZ '-infinity'                     AS valid_from,
        NULL::TIMESTAMPTZ                           AS valid_to,
        true                                        AS is_current,
        true                                        AS is_latest_version
    FROM organizations AS o
    LEFT JOIN default_workspace_ids AS d USING (organization_id)
    WHERE NOT EXISTS (
        SELECT 1 FROM listed AS l WHERE l.organization_id = o.organization_id AND l.is_default
    )
)

SELECT * FROM listed
UNION ALL BY NAME
SELECT * FROM default_members
