-- Billed spend per workspace over everything loaded; the default workspace is a row of its own.
WITH workspace_names AS (
    SELECT organization_id, id, name
    FROM raw.workspaces
    QUALIFY row_number() OVER (PARTITION BY organization_id, id ORDER BY valid_from DESC) = 1
)
SELECT coalesce(w.name, CASE WHEN c.workspace_id IS NULL THEN 'Default workspace' ELSE c.workspace_id END) AS workspace,
       min(c.bucket_start)::DATE AS first_day,
       max(c.bucket_start)::DATE AS last_day,
       round(sum(c.amount_usd), 2) AS cost_usd
FROM raw.cost_report AS c
LEFT JOIN workspace_names AS w ON w.organization_id = c.organization_id AND w.id = c.workspace_id
GROUP BY ALL
ORDER BY cost_usd DESC
