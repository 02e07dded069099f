-- Spend signals per UTC day and workspace, from the billed cost (days without cost count as zero):
-- month-to-date spend; a month-end forecast from the month's run rate (month-to-date / days elapsed
-- x days in the month); the day-over-day change; a trailing baseline (mean and standard deviation of
-- the previous 14 days) with an anomaly flag when the day is 3 standard deviations away from it (with
-- at least 7 days of baseline); and the optional monthly budget from the configuration (setting
-- `budgets`, by workspace ID or name), with flags when month-to-date spend or the forecast exceed it.
-- Forecasts and baselines are estimates, rounded to 1e-6 USD.
-- Grain: organization_id, date, workspace_id
CREATE OR REPLACE TABLE marts.workspace_spend_signals AS
WITH daily AS (
    SELECT organization_id, date, workspace_id, any_value(workspace_name) AS workspace_name, sum(cost_usd) AS cost_usd
    FROM marts.workspace_daily_cost
    GROUP BY organization_id, date, workspace_id
),

workspace_spans AS (
    SELECT d.organization_id, d.workspace_id, any_value(d.workspace_name) AS workspace_name,
           min(d.date) AS first_day, any_value(o.last_day) AS last_day
    FROM daily AS d
    JOIN (SELECT organization_id, max(date) AS last_day FROM daily GROUP BY ALL) AS o USING (organization_id)
    GROUP BY d.organization_id, d.workspace_id
),

calendar AS (
    SELECT organization_id, workspace_id, workspace_name,
           CAST(unnest(generate_series(first_day, last_day, INTERVAL 1 DAY)) AS DATE) AS date
    FROM workspace_spans
),

filled AS (
    SELECT c.organization_id, c.date, c.workspace_id, c.workspace_name, coalesce(d.cost_usd, 0) AS cost_usd
    FROM calendar AS c
    LEFT JOIN daily AS d USING (organization_id, date, workspace_id)
),

windows AS (
    SELECT
        *,
        sum(cost_usd) OVER month_so_far                             AS month_to_date_usd,
        cost_usd - lag(cost_usd) OVER by_day                        AS day_over_day_change_usd,
        avg(cost_usd) OVER previous_days                            AS baseline_mean,
        stddev_pop(cost_usd) OVER previous_days                     AS baseline_stddev,
        count(*) OVER previous_days                                 AS baseline_days
    FROM filled
    WINDOW
        by_day AS (PARTITION BY organization_id, workspace_id ORDER BY date),
        month_so_far AS (PARTITION BY organization_id, workspace_id, date_trunc('month', date) ORDER BY date),
        previous_days AS (PARTITION BY organization_id, workspace_id ORDER BY date ROWS BETWEEN 14 PRECEDING AND 1 PRECEDING)
),

budgets AS (
    SELECT workspace, CAST(monthly_budget_usd AS DECIMAL(38, 2)) AS monthly_budget_usd FROM workspace_budget_rows
)

SELECT
    w.date,
    w.organization_id,
    w.workspace_id,
    w.workspace_name,
    w.cost_usd,
    w.month_to_date_usd,
    CAST(w.month_to_date_usd * day(last_day(w.date)) / day(w.date) AS DECIMAL(38, 6)) AS forecast_month_end_usd,
    w.day_over_day_change_usd,
    CAST(w.baseline_mean AS DECIMAL(38, 6))                         AS baseline_usd,
    CAST(w.baseline_stddev AS DECIMAL(38, 6))                       AS baseline_stddev_usd,
    w.baseline_days,
    w.baseline_days >= 7 AND abs(w.cost_usd - w.baseline_mean) > 3 * w.baseline_stddev AS is_anomaly,
    coalesce(by_id.monthly_budget_usd, by_name.monthly_budget_usd)  AS monthly_budget_usd,
    w.month_to_date_usd > coalesce(by_id.monthly_budget_usd, by_name.monthly_budget_usd) AS is_over_budget,
    w.month_to_date_usd * day(last_day(w.date)) / day(w.date)
        > coalesce(by_id.monthly_budget_usd, by_name.monthly_budget_usd) AS is_forecast_over_budget
FROM windows AS w
LEFT JOIN budgets AS by_id ON by_id.workspace = w.workspace_id
LEFT JOIN budgets AS by_name ON by_name.workspace = w.workspace_name
