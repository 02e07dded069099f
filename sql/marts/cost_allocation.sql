-- The bill of each cell on the cost-report days (intermediate.int_billed_cost_cells) spread over the
-- API keys, accounts and service accounts that used tokens of the cell's token type in that cell, in
-- proportion to those tokens, and attributed to a person. (Analytics API days: marts.actor_daily_cost.)
--
-- Exact split (largest remainder): the cell's cost is counted in units of 1e-14 USD (the cost
-- report's precision); each recipient gets floor(units * tokens / cell_tokens) units, and the units
-- left over (fewer than the recipients) go one each to the largest remainders (ties by recipient
-- IDs). So the allocations of a cell sum to its billed cost exactly. Negative cells (credits) are
-- split the same way on their absolute value.
--
-- Cost that no usage explains stays as one explicit unallocated row per cell: web search, code
-- execution and session usage (unallocated_reason = the cost type) and token cells without usage
-- ('no_usage_in_cell').
--
-- Attribution (user_id): the account_id of OAuth usage, else the owner of the API key as of that
-- day (principal, else created_by) when that owner is a user. Otherwise unattributed_reason says
-- why: service_account (workload identity), console (no key: Console/Workbench),
-- key_owned_by_service_account, key_without_owner, unknown_api_key, or the unallocated reason.
-- Grain: organization_id, date, workspace_id, cost_type, model, token_type, service_tier, context_window, inference_geo, allocation_status, api_key_id, account_id, service_account_id
-- Incremental: date
CREATE OR REPLACE TABLE marts.cost_allocation AS
WITH cells AS NOT MATERIALIZED (
    -- numbered within their day in grain order (the same numbers wherever the CTE is inlined), so
    -- that a build of some days reads only those days
    SELECT
        *,
        row_number() OVER (
            PARTITION BY organization_id, date
            ORDER BY workspace_id, cost_type, model, token_type, service_tier, context_window, inference_geo
        ) AS cell_id
    FROM intermediate.int_billed_cost_cells
),

cell_usage AS (
    SELECT
        organization_id, date, workspace_id, model, token_type, service_tier, context_window, inference_geo,
        api_key_id, account_id, service_account_id,
        sum(tokens) AS tokens
    FROM intermediate.int_usage_priced
    WHERE tokens > 0
    GROUP BY ALL
),

recipients AS (
    -- who used the cell's token type in the cell; the cell's cost in units of 1e-14 USD
    SELECT
        c.organization_id,
        c.date,
        c.cell_id,
        CAST(abs(c.cost_usd) * 100000000000000 AS HUGEINT)  AS cell_units,
        u.api_key_id,
        u.account_id,
        u.service_account_id,
        u.tokens
    FROM cells AS c
    JOIN cell_usage AS u
        ON  u.organization_id = c.organization_id
        AND u.date = c.date
        AND u.workspace_id = c.workspace_id
        AND u.model = c.model
        AND u.token_type = c.token_type
        AND u.service_tier = c.service_tier
        AND u.context_window IS NOT DISTINCT FROM c.context_window
        AND u.inference_geo IS NOT DISTINCT FROM c.inference_geo
    WHERE c.cost_type = 'tokens'
),

floor_shares AS (
    SELECT
        *,
        sum(tokens) OVER (PARTITION BY organization_id, date, cell_id)                             AS cell_tokens,
        cell_units * tokens // sum(tokens) OVER (PARTITION BY organization_id, date, cell_id)      AS floor_units,
        cell_units * tokens % sum(tokens) OVER (PARTITION BY organization_id, date, cell_id)       AS remainder
    FROM recipients
),

shares AS (
    SELECT
        organization_id, date, cell_id, api_key_id, account_id, service_account_id, tokens, cell_tokens,
        floor_units + CASE WHEN row_number() OVER (
                                PARTITION BY organization_id, date, cell_id ORDER BY remainder DESC, api_key_id NULLS FIRST,
                                account_id NULLS FIRST, service_account_id NULLS FIRST)
                            <= cell_units - sum(floor_units) OVER (PARTITION BY organization_id, date, cell_id)
                           THEN 1 ELSE 0 END                                AS share_units
    FROM floor_shares
),

allocations AS (
    SELECT
        c.* EXCLUDE (cell_id, cost_usd),
        s.api_key_id,
        s.account_id,
        s.service_account_id,
        s.tokens,
        s.cell_tokens,
        CASE WHEN s.cell_id IS NULL THEN 'unallocated' ELSE 'allocated' END AS allocation_status,
        CASE WHEN s.cell_id IS NOT NULL THEN NULL
             WHEN c.cost_type = 'tokens' THEN 'no_usage_in_cell'
             ELSE coalesce(c.cost_type, 'unknown') END                      AS unallocated_reason,
        c.cost_usd                                                          AS cell_cost_usd,
        CASE WHEN s.cell_id IS NULL THEN c.cost_usd
             ELSE sign(c.cost_usd) * CAST(s.share_units AS DECIMAL(38, 0)) * 0.00000000000001
        END                                                                 AS cost_usd
    FROM cells AS c
    LEFT JOIN shares AS s USING (organization_id, date, cell_id)
)

SELECT
    a.date,
    a.organization_id,
    a.workspace_id,
    coalesce(w.workspace_name, a.workspace_id)                          AS workspace_name,
    a.cost_type,
    a.model,
    a.token_type,
    a.service_tier,
    a.context_window,
    a.inference_geo,
    a.description,
    a.currency,
    a.allocation_status,
    a.unallocated_reason,
    a.api_key_id,
    a.account_id,
    a.service_account_id,
    CASE
        WHEN a.allocation_status = 'unallocated' THEN NULL
        WHEN a.account_id IS NOT NULL THEN a.account_id
        WHEN k.owner_type = 'user' THEN k.owner_id
    END                                                                 AS user_id,
    CASE
        WHEN a.allocation_status = 'unallocated' THEN NULL
        WHEN a.account_id IS NOT NULL THEN 'account'
        WHEN k.owner_type = 'user' THEN 'api_key_owner'
    END                                                                 AS attributed_by,
    CASE
        WHEN a.allocation_status = 'unallocated' THEN a.unallocated_reason
        WHEN a.account_id IS NOT NULL THEN NULL
        WHEN a.api_key_id IS NULL AND a.service_account_id IS NOT NULL THEN 'service_account'
        WHEN a.api_key_id IS NULL THEN 'console'
        WHEN k.api_key_id IS NULL THEN 'unknown_api_key'
        WHEN k.owner_type = 'user' THEN NULL
        WHEN k.owner_type = 'service_account' THEN 'key_owned_by_service_account'
        ELSE 'key_without_owner'
    END                                                                 AS unattributed_reason,
    a.tokens,
    a.cell_tokens,
    a.cost_usd,
    a.cell_cost_usd
FROM allocations AS a
LEFT JOIN intermediate.int_workspace_names AS w USING (organization_id, workspace_id)
LEFT JOIN marts.dim_api_keys AS k
    ON  k.organization_id = a.organization_id
    AND k.api_key_id = a.api_key_id
    AND k.valid_from <= CAST(a.date AS TIMESTAMPTZ)
    AND (k.valid_to IS NULL OR CAST(a.date AS TIMESTAMPTZ) < k.valid_to)
