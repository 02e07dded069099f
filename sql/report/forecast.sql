-- Month-to-date spend and the month-end forecast (from the run rate) on the reference day.
SELECT sum(month_to_date_usd)::DOUBLE AS month_to_date_usd,
       sum(forecast_month_end_usd)::DOUBLE AS forecast_month_end_usd,
       day(last_day($as_of::DATE)) AS days_in_month
FROM marts.workspace_spend_signals
WHERE date = $as_of::DATE
