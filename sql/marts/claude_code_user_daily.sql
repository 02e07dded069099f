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

record_items AS (
    -- what each record used, one row per tool (its actions) or model (its tokens and estimated cost)
    SELECT organization_id, date, record_key, 'tool' AS kind, tool AS item, accepted, rejected
    FROM raw.claude_code_tool_actions
    UNION ALL BY NAME
    SELECT organization_id, date, record_key, 'model' AS kind, model AS item,
           input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens, estimated_cost_usd
    FROM raw.claude_code_model_usage
),

item_totals AS (
    SELECT r.organization_id, r.date, r.actor_type, r.actor, i.kind, i.item,
           sum(i.accepted) AS accepted, sum(i.rejected) AS rejected,
           sum(i.input_tokens) AS input_tokens, sum(i.output_tokens) AS output_tokens,
           sum(i.cache_read_tokens) AS cache_read_tokens, sum(i.cache_creation_tokens) AS cache_creation_tokens,
           sum(i.estimated_cost_usd) AS estimated_cost_usd
    FROM records AS r
    JOIN record_items AS i USING (organization_id, date, record_key)
    GROUP BY ALL
),

usage AS (
    SELECT
        organization_id, date, actor_type, actor,
        sum(accepted)               AS tool_actions_accepted,
        sum(rejected)               AS tool_actions_rejected,
        list({'tool': item, 'accepted': accepted, 'rejected': rejected,
              'acceptance_rate': accepted / nullif(accepted + rejected, 0)} ORDER BY item)
            FILTER (WHERE kind = 'tool')                                AS by_tool,
        sum(input_tokens)           AS input_tokens,
        sum(output_tokens)          AS output_tokens,
        sum(cache_read_tokens)      AS cache_read_tokens,
        sum(cache_creation_tokens)  AS cache_creation_tokens,
        sum(estimated_cost_usd)     AS estimated_cost_usd,
        list({'model': item, 'input_tokens': input_tokens, 'output_tokens': output_tokens,
              'cache_read_tokens': cache_read_tokens, 'cache_creation_tokens': cache_creation_tokens,
              'estimated_cost_usd': estimated_cost_usd} ORDER BY item)
            FILTER (WHERE kind = 'model')                               AS by_model
    FROM item_totals
    GROUP BY ALL
),

identities AS (
    -- who an actor can be: a user by lower-cased email; an API key by name, and its owner when a user
    SELECT organization_id, 'user_actor' AS actor_type, user_email_lower AS actor, user_id AS identity_id,
           user_id, NULL AS api_key_id, valid_from, valid_to
    FROM marts.dim_users
    UNION ALL BY NAME
    SELECT organization_id, 'api_actor' AS actor_type, api_key_name AS actor, api_key_id AS identity_id,
           CASE WHEN owner_type = 'user' THEN owner_id END AS user_id, api_key_id, valid_from, valid_to
    FROM marts.dim_api_keys
),

candidates AS (
    -- the identities an actor had as of the day
    SELECT a.organization_id, a.date, a.actor_type, a.actor, count(DISTINCT i.identity_id) AS candidates,
           any_value(i.user_id) AS user_id, any_value(i.api_key_id) AS api_key_id
    FROM activity AS a
    JOIN identities AS i
        ON  i.organization_id = a.organization_id
        AND i.actor_type = a.actor_type
        AND i.actor = a.actor
        AND i.valid_from <= CAST(a.date AS TIMESTAMPTZ)
        AND (i.valid_to IS NULL OR CAST(a.date AS TIMESTAMPTZ) < i.valid_to)
    GROUP BY ALL
),

people AS (
    SELECT organization_id, user_id, user_email, user_name FROM marts.dim_users WHERE is_latest_version
),

matched AS (
    SELECT
        a.*,
        CASE WHEN c.candidates = 1 THEN c.api_key_id END            AS api_key_id,
        CASE WHEN c.candidates = 1 THEN c.user_id END               AS user_id,
        CASE
            WHEN c.candidates = 1 AND a.actor_type = 'user_actor' THEN 'user_by_email'
            WHEN c.candidates = 1 THEN 'api_key_by_name'
            WHEN c.candidates > 1 AND a.actor_type = 'api_actor' THEN 'ambiguous_api_key_name'
            ELSE 'unmatched'
        END                                                         AS match_status
    FROM activity AS a
    LEFT JOIN candidates AS c USING (organization_id, date, actor_type, actor)
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
    coalesce(u.tool_actions_accepted, 0)                            AS tool_actions_accepted,
    coalesce(u.tool_actions_rejected, 0)                            AS tool_actions_rejected,
    u.tool_actions_accepted / nullif(u.tool_actions_accepted + u.tool_actions_rejected, 0) AS acceptance_rate,
    u.by_tool,
    coalesce(u.input_tokens, 0)                                     AS input_tokens,
    coalesce(u.output_tokens, 0)                                    AS output_tokens,
    coalesce(u.cache_read_tokens, 0)                                AS cache_read_tokens,
    coalesce(u.cache_creation_tokens, 0)                            AS cache_creation_tokens,
    coalesce(u.estimated_cost_usd, 0)                               AS estimated_cost_usd,
    u.by_model
FROM matched AS m
LEFT JOIN people AS p USING (organization_id, user_id)
LEFT JOIN usage AS u USING (organization_id, date, actor_type, actor)
