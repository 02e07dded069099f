-- The ten API keys with the most tokens, with their latest name and owner.
WITH keys AS (
    SELECT organization_id, id, name, coalesce(principal_id, created_by_id) AS owner_id
    FROM raw.api_keys
    QUALIFY row_number() OVER (PARTITION BY organization_id, id ORDER BY valid_from DESC) = 1
), users AS (
    SELECT organization_id, id, email
    FROM raw.users
    QUALIFY row_number() OVER (PARTITION BY organization_id, id ORDER BY valid_from DESC) = 1
)
SELECT coalesce(k.name, coalesce(u.api_key_id, 'Console / Workbench')) AS api_key,
       coalesce(users.email, k.owner_id, '') AS owner,
       sum(u.uncached_input_tokens + u.cache_creation_5m_input_tokens + u.cache_creation_1h_input_tokens
           + u.cache_read_input_tokens + u.output_tokens) AS tokens
FROM raw.messages_usage AS u
LEFT JOIN keys AS k ON k.organization_id = u.organization_id AND k.id = u.api_key_id
LEFT JOIN users ON users.organization_id = k.organization_id AND users.id = k.owner_id
GROUP BY ALL
ORDER BY tokens DESC
LIMIT 10
