-- The default workspace of each organization under its real ID (see marts.dim_workspaces): what a
-- null workspace in the reports and in old-shape API keys stands for.
-- Grain: organization_id
CREATE OR REPLACE TABLE intermediate.int_default_workspaces AS
SELECT DISTINCT organization_id, workspace_id FROM marts.dim_workspaces WHERE is_default
