-- Usage priced at list explains the billed cost of each day and workspace within a tolerance: the
-- unexplained rest of marts.cost_reconciliation stays within 1% of the billed cost (at least
-- $0.01). Lists the largest differences first.
-- Asset: marts.cost_reconciliation
-- Severity: WARN
-- Incremental: date
SELECT organization_id, date, workspace_id, workspace_name, billed_usd, usage_at_list_usd,
       unexplained_usd, unpriced_tokens
FROM marts.cost_reconciliation
WHERE abs(unexplained_usd) > greatest(0.01, 0.01 * abs(billed_usd))
ORDER BY abs(unexplained_usd) DESC
