-- Append one load-log row per UTC day of the window, comparing with the previous load of that day.
-- Expects the temp table `day_totals(partition_date, rows, tokens, cost_cents)` for this window;
-- days of the window without rows get zeros, so an emptied day is logged too.
INSERT INTO raw.load_log BY NAME
WITH days AS (
    SELECT unnest(generate_series($window_start::DATE, $window_end::DATE - 1, INTERVAL 1 DAY))::DATE AS partition_date
), current_load AS (
    SELECT days.partition_date,
           coalesce(t.rows, 0)::BIGINT AS rows,
           t.tokens,
           t.cost_cents
    FROM days LEFT JOIN day_totals AS t USING (partition_date)
), previous_load AS (
    SELECT partition_date, rows, tokens, cost_cents
    FROM raw.load_log
    WHERE organization_id = $organization_id AND table_name = $table_name
      AND partition_date >= $window_start::DATE AND partition_date < $window_end::DATE
    QUALIFY row_number() OVER (PARTITION BY partition_date ORDER BY loaded_at DESC) = 1
)
SELECT $organization_id AS organization_id,
       $table_name AS table_name,
       c.partition_date,
       $loaded_at AS loaded_at,
       $run_id AS run_id,
       $window_start AS window_start,
       $window_end AS window_end,
       $pages AS pages,
       $requests AS requests,
       c.rows,
       c.tokens,
       c.cost_cents,
       p.rows AS previous_rows,
       p.tokens AS previous_tokens,
       p.cost_cents AS previous_cost_cents,
       c.rows - p.rows AS rows_change,
       c.tokens - p.tokens AS tokens_change,
       c.cost_cents - p.cost_cents AS cost_cents_change,
       p.partition_date IS NOT NULL
           AND (c.rows IS DISTINCT FROM p.rows OR c.tokens IS DISTINCT FROM p.tokens
                OR c.cost_cents IS DISTINCT FROM p.cost_cents) AS restated,
       $schema_warnings AS schema_warnings,
       $source AS source
FROM current_load AS c LEFT JOIN previous_load AS p USING (partition_date)
