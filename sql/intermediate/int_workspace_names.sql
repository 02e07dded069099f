-- The latest name of every workspace the entity lists know (archived and deleted ones keep theirs),
-- and whether it is the default workspace: how the marts name a workspace ID.
-- Grain: organization_id, workspace_id
CREATE OR REPLACE TABLE intermediate.int_workspace_names AS
SELECT organization_id, workspace_id, workspace_name, is_default
FROM marts.dim_workspaces
WHERE is_latest_version
