-- What a serving copy was published from (pipelines/publish.py), so the next publication can
-- copy only what changed since. Created inside the serving copy, never in the warehouse.

CREATE SCHEMA IF NOT EXISTS meta;

-- One row: the current publication.
CREATE TABLE IF NOT EXISTS meta.publication (
    published_at     TIMESTAMPTZ  NOT NULL,
    warehouse_path   VARCHAR      NOT NULL,   -- the warehouse file it was copied from
    mart_build_id    BIGINT,                  -- the last marts build it includes (meta.mart_builds) ...
    mart_built_at    TIMESTAMPTZ,             -- ... and its time: a warehouse created anew has other builds
    parquet_export   VARCHAR                  -- the Parquet export folder written with it, if any
);

-- The load log's latest load of every raw partition it includes (as meta.mart_built_partitions).
CREATE TABLE IF NOT EXISTS meta.published_partitions (
    table_name      VARCHAR      NOT NULL,
    partition_date  DATE         NOT NULL,
    loaded_at       TIMESTAMPTZ  NOT NULL
);

-- What the copy held when published (pipelines/fingerprints.py): per table, per UTC day for the
-- day-grained ones (day NULL for a whole table), so the next publication can tell what changed since.
CREATE TABLE IF NOT EXISTS meta.published_fingerprints (
    table_name  VARCHAR  NOT NULL,   -- schema.table
    day         DATE,
    row_count   BIGINT   NOT NULL,
    checksum    HUGEINT  NOT NULL    -- the sum of every row's hash
);

-- Every file of the Parquet export written with the copy, to tell a month deleted or changed by hand.
CREATE TABLE IF NOT EXISTS meta.published_files (
    path         VARCHAR  NOT NULL,  -- relative to the export folder
    size         BIGINT   NOT NULL,
    modified_ns  BIGINT   NOT NULL
);
