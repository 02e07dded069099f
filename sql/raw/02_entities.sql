-- Entity tables keep history (SCD type 2): one row per version of an entity.
-- valid_from/valid_to bound the version (valid_to NULL = still current); an entity that
-- disappears from the API keeps its last version, closed, so past usage still resolves.
-- row_hash covers the descriptive columns and decides whether a snapshot is a new version.

CREATE SCHEMA IF NOT EXISTS raw;

CREATE TABLE IF NOT EXISTS raw.organization (
    organization_id  VARCHAR     NOT NULL,
    id               VARCHAR     NOT NULL,
    name             VARCHAR,
    type             VARCHAR,
    extras           JSON,
    row_hash         VARCHAR     NOT NULL,
    valid_from       TIMESTAMPTZ NOT NULL,
    valid_to         TIMESTAMPTZ,
    is_current       BOOLEAN     NOT NULL,
    loaded_at        TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS raw.users (
    organization_id  VARCHAR     NOT NULL,
    id               VARCHAR     NOT NULL,
    email            VARCHAR,
    name             VARCHAR,
    role             VARCHAR,
    added_at         TIMESTAMPTZ,
    extras           JSON,
    row_hash         VARCHAR     NOT NULL,
    valid_from       TIMESTAMPTZ NOT NULL,
    valid_to         TIMESTAMPTZ,
    is_current       BOOLEAN     NOT NULL,
    loaded_at        TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS raw.invites (
    organization_id  VARCHAR     NOT NULL,
    id               VARCHAR     NOT NULL,
    email            VARCHAR,
    role             VARCHAR,
    status           VARCHAR,
    invited_at       TIMESTAMPTZ,
    expires_at       TIMESTAMPTZ,
    accepted_at      TIMESTAMPTZ,
    extras           JSON,
    row_hash         VARCHAR     NOT NULL,
    valid_from       TIMESTAMPTZ NOT NULL,
    valid_to         TIMESTAMPTZ,
    is_current       BOOLEAN     NOT NULL,
    loaded_at        TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS raw.workspaces (
    organization_id        VARCHAR     NOT NULL,
    id                     VARCHAR     NOT NULL,
    name                   VARCHAR,
    display_color          VARCHAR,
    created_at             TIMESTAMPTZ,
    archived_at            TIMESTAMPTZ,
    workspace_geo          VARCHAR,
    allowed_inference_geos JSON,             -- a list, or the string "unrestricted"
    default_inference_geo  VARCHAR,
    tags                   JSON,
    extras                 JSON,
    row_hash               VARCHAR     NOT NULL,
    valid_from             TIMESTAMPTZ NOT NULL,
    valid_to               TIMESTAMPTZ,
    is_current             BOOLEAN     NOT NULL,
    loaded_at              TIMESTAMPTZ NOT NULL,
    -- the default workspace: listed only with include_default=true (NULL in snapshots taken before)
    is_default             BOOLEAN
);
-- warehouses created before is_default (last, so that both have the same column order)
ALTER TABLE raw.workspaces ADD COLUMN IF NOT EXISTS is_default BOOLEAN;

CREATE TABLE IF NOT EXISTS raw.workspace_members (
    organization_id  VARCHAR     NOT NULL,
    workspace_id     VARCHAR     NOT NULL,
    user_id          VARCHAR     NOT NULL,
    workspace_role   VARCHAR,
    extras           JSON,
    row_hash         VARCHAR     NOT NULL,
    valid_from       TIMESTAMPTZ NOT NULL,
    valid_to         TIMESTAMPTZ,
    is_current       BOOLEAN     NOT NULL,
    loaded_at        TIMESTAMPTZ NOT NULL
);

-- API keys come in two shapes: the older one (top-level workspace_id, NULL = default workspace,
-- and created_by) and the newer one (principal and scope, with the default workspace's real ID).
-- Both are flattened into the same columns; whichever the API did not send is NULL.
CREATE TABLE IF NOT EXISTS raw.api_keys (
    organization_id     VARCHAR     NOT NULL,
    id                  VARCHAR     NOT NULL,
    name                VARCHAR,
    status              VARCHAR,
    created_at          TIMESTAMPTZ,
    expires_at          TIMESTAMPTZ,
    partial_key_hint    VARCHAR,
    workspace_id        VARCHAR,            -- deprecated top-level field
    created_by_id       VARCHAR,
    created_by_type     VARCHAR,
    principal_type      VARCHAR,            -- user | service_account (either shape, normalised)
    principal_id        VARCHAR,            -- user_... or svac_...
    scope_type          VARCHAR,            -- workspace | organization
    scope_workspace_id  VARCHAR,
    extras              JSON,
    row_hash            VARCHAR     NOT NULL,
    valid_from          TIMESTAMPTZ NOT NULL,
    valid_to            TIMESTAMPTZ,
    is_current          BOOLEAN     NOT NULL,
    loaded_at           TIMESTAMPTZ NOT NULL
);
