-- The ten API keys with the most tokens, with their latest name and owner.
SELECT coalesce(arg_max(api_key_name, date), api_key_id, 'Console / Workbench')  AS api_key,
       coalesce(arg_max(owner_email, date), arg_max(owner_id, date), '')         AS owner,
       sum(total_tokens)                                                         AS tokens
FROM marts.api_key_daily_usage
GROUP BY api_key_id
ORDER BY tokens DESC
LIMIT 10
