-- Claude Code per person and UTC day: sessions, lines added and removed, commits and pull requests
-- (summed over terminals and local/remote rows), tool acceptance (overall and per tool in
-- by_tool), and tokens and estimated cost per model (by_model, totals alongside).
-- People: user actors by lower-cased email against dim_users as of the day; API actors (reported
-- by key name) against dim_api_keys by name as of the day (matched only when exactly one key had
-- that name), then the key's owner when that is a user. match_status says how a row was matched.
-- Informational only: this usage is already inside the API usage and its billed cost, so the
-- estimated cost here is never added to billed totals.
-- Grain: organization_id, date, actor_type, actor
-- Incremental: date
CREATE OR REPLACE TABLE marts.claude_code_user_daily AS
WITH records AS (
    SELECT
        *,
        CASE WHEN actor_type = 'user_actor' THEN lower(actor_email) ELSE actor_api_key_name END AS actor
    FROM raw.claude_code_usage
),

activity AS (
    SELECT
        organization_id, date, actor_type, actor,
        sum(num_sessions)       AS sessions,
        sum(lines_added)        AS lines_added,
        sum(lines_removed)      AS lines_removed,
        sum(commits)            AS commits,
        sum(pull_requests)      AS pull_requests,
        bool_or(is_remote)      AS used_remote
    FROM records
    GROUP BY ALL
),

tool_totals AS (
    SELECT r.organization_id, r.date, r.actor_type, r.actor, t.tool,
           sum(t.accepted) AS accepted, sum(t.rejected) AS rejected
    FROM records AS r
    JOIN raw.claude_code_tool_actions AS t USING (organization_id, date, record_key)
    GROUP BY ALL
),

tools AS (
    SELECT
        organization_id, date, actor_type, actor,
        sum(accepted)           AS tool_actions_accepted,
        sum(rejected)           AS tool_actions_rejected,
        list({'tool': tool, 'accepted': accepted, 'rejected': rejected,
              'acceptance_rate': accepted / nullif(accepted + rejected, 0)} ORDER BY tool) AS by_tool
    FROM tool_totals
    GROUP BY ALL
),

model_totals AS (
    SELECT r.organization_id, r.date, r.actor_type, r.actor, m.model,
           sum(m.input_tokens) AS input_tokens, sum(m.output_tokens) AS output_tokens,
           sum(m.cache_read_tokens) AS cache_read_tokens, sum(m.cache_creation_tokens) AS cache_creation_tokens,
           sum(m.estimated_cost_usd) AS estimated_cost_usd
    FROM records AS r
    JOIN raw.claude_code_model_usage AS m USING (organization_id, date, record_key)
    GROUP BY ALL
),

models AS (
    SELECT
        organization_id, date, actor_type, actor,
        sum(input_tokens)           AS input_tokens,
        sum(output_tokens)          AS output_tokens,
        sum(cache_read_tokens)      AS cache_read_tokens,
        sum(cache_creation_tokens)  AS cache_creation_tokens,
        sum(estimated_cost_usd)     AS estimated_cost_usd,
        list({'model': model, 'input_tokens': input_tokens, 'output_tokens': output_tokens,
              'cache_read_tokens': cache_read_tokens, 'cache_creation_tokens': cache_creation_tokens,
              'estimated_cost_usd': estimated_cost_usd} ORDER BY model) AS by_model
    FROM model_totals
    GROUP BY ALL
),

users_by_email AS (
    SELECT a.organization_id, a.date, a.actor, any_value(u.user_id) AS user_id
    FROM activity AS a
    JOIN marts.dim_users AS u
        ON  u.organization_id = a.organization_id
        AND u.user_email_lower = a.actor
        AND u.valid_from <= CAST(a.date AS TIMESTAMPTZ)
        AND (u.valid_to IS NULL OR CAST(a.date AS TIMESTAMPTZ) < u.valid_to)
    WHERE a.actor_type = 'user_actor'
    GROUP BY ALL
    HAVING count(DISTINCT u.user_id) = 1
),

keys_by_name AS (
    SELECT a.organization_id, a.date, a.actor, count(DISTINCT k.api_key_id) AS keys_named,
           any_value(k.api_key_id) AS api_key_id,
           any_value(CASE WHEN k.owner_type = 'user' THEN k.owner_id END) AS owner_user_id
    FROM activity AS a
    JOIN marts.dim_api_keys AS k
        ON  k.organization_id = a.organization_id
        AND k.api_key_name = a.actor
        AND k.valid_from <= CAST(a.date AS TIMESTAMPTZ)
        AND (k.valid_to IS NULL OR CAST(a.date AS TIMESTAMPTZ) < k.valid_to)
    WHERE a.actor_type = 'api_actor'
    GROUP BY ALL
),

people AS (
    SELECT organization_id, user_id, user_email, user_name FROM marts.dim_users WHERE is_latest_version
),

matched AS (
    SELECT
        a.*,
        CASE WHEN k.keys_named = 1 THEN k.api_key_id END            AS api_key_id,
        coalesce(e.user_id, CASE WHEN k.keys_named = 1 THEN k.owner_user_id END) AS user_id,
        CASE
            WHEN e.user_id IS NOT NULL THEN 'user_by_email'
            WHEN k.keys_named = 1 THEN 'api_key_by_name'
            WHEN k.keys_named > 1 THEN 'ambiguous_api_key_name'
            ELSE 'unmatched'
        END                                                         AS match_status
    FROM activity AS a
    LEFT JOIN users_by_email AS e
        ON e.organization_id = a.organization_id AND e.date = a.date AND e.actor = a.actor
        AND a.actor_type = 'user_actor'
    LEFT JOIN keys_by_name AS k
        ON k.organization_id = a.organization_id AND k.date = a.date AND k.actor = a.actor
        AND a.actor_type = 'api_actor'
)

SELECT
    m.date,
    m.organization_id,
    m.actor_type,
    m.actor,
    m.match_status,
    m.user_id,
    p.user_email,
    p.user_name,
    m.api_key_id,
    m.sessions,
    m.lines_added,
    m.lines_removed,
    m.commits,
    m.pull_requests,
    m.used_remote,
    coalesce(t.tool_actions_accepted, 0)                            AS tool_actions_accepted,
    coalesce(t.tool_actions_rejected, 0)                            AS tool_actions_rejected,
    t.tool_actions_accepted / nullif(t.tool_actions_accepted + t.tool_actions_rejected, 0) AS acceptance_rate,
    t.by_tool,
    coalesce(s.input_tokens, 0)                                     AS input_tokens,
    coalesce(s.output_tokens, 0)                                    AS output_tokens,
    coalesce(s.cache_read_tokens, 0)                                AS cache_read_tokens,
    coalesce(s.cache_creation_tokens, 0)                            AS cache_creation_tokens,
    coalesce(s.estimated_cost_usd, 0)                               AS estimated_cost_usd,
    s.by_model
FROM matched AS m
LEFT JOIN people AS p USING (organization_id, user_id)
LEFT JOIN tools AS t USING (organization_id, date, actor_type, actor)
LEFT JOIN models AS s USING (organization_id, date, actor_type, actor)
