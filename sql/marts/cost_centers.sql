-- The cost-center mapping as reviewed (the CSV of setting cost_centers_file and the config file's
-- [[cost_centers]] entries, read and validated by pipelines/cost_centers.py): a user (by user ID or
-- lower-case email), service account (svac_ ID), federated identity (its subject), API key, product or
-- workspace belongs to a team and cost center from valid_from (inclusive) to valid_to (exclusive, NULL =
-- still in force). Periods of one subject never overlap. source_line is the file and line the row came from,
-- source_order its place in reading order (the CSV's rows, then the config file's entries), to list rows by.
-- Grain: kind, subject, valid_from
CREATE OR REPLACE TABLE marts.cost_centers AS
SELECT
    kind,
    subject,
    team,
    cost_center,
    CAST(valid_from AS DATE)    AS valid_from,
    CAST(valid_to AS DATE)      AS valid_to,
    source_line,
    source_order
FROM cost_center_rows
