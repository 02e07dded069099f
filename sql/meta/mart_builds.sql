-- What the marts were last built from, so that the next build redoes only the days that changed
-- (pipelines/marts.py). Bookkeeping of the pipeline: not published to readers.

CREATE SCHEMA IF NOT EXISTS meta;

-- One row per successful marts build.
CREATE TABLE IF NOT EXISTS meta.mart_builds (
    build_id      BIGINT       NOT NULL PRIMARY KEY,   -- 1, 2, ... in build order
    built_at      TIMESTAMPTZ  NOT NULL,
    is_full       BOOLEAN      NOT NULL,               -- every day rebuilt (first build, or an input changed)
    reason        VARCHAR      NOT NULL,               -- why full, or 'incremental'
    fingerprint   VARCHAR      NOT NULL,               -- hash of the SQL, prices, budgets and entity tables
    days          DATE[]       NOT NULL                -- the UTC days rewritten in the day-grained tables
);

-- The load log's latest load of every raw partition as of the last build: a partition whose
-- latest load is not listed here changed since.
CREATE TABLE IF NOT EXISTS meta.mart_built_partitions (
    table_name      VARCHAR      NOT NULL,
    partition_date  DATE         NOT NULL,
    loaded_at       TIMESTAMPTZ  NOT NULL
);

-- The last result of every check (pipelines.marts.run_checks): a check clean after one build
-- checks only the days the next incremental build rewrote.
CREATE TABLE IF NOT EXISTS meta.check_results (
    check_key     VARCHAR      NOT NULL PRIMARY KEY,   -- table:check, e.g. marts.cost_allocation:grain_is_unique
    build_id      BIGINT,                              -- the marts build it checked
    checked_at    TIMESTAMPTZ  NOT NULL,
    violations    BIGINT       NOT NULL,
    days_checked  INTEGER                              -- NULL: every day
);
