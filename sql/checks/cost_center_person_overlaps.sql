-- People mapped twice over overlapping periods, once by user ID and once by email (or by two emails
-- the person has had): the configuration check cannot see it, as it does not know who owns an email.
-- The mart charges such a day by the user ID row (then the email row); fix the mapping so one row holds.
-- Lists each pair of rows with the file and line they came from.
-- Asset: marts.cost_centers
-- Severity: ERROR
WITH people AS (
    SELECT DISTINCT organization_id, user_id, lower(user_email) AS email FROM marts.dim_users
),

person_rows AS (
    SELECT p.organization_id, p.user_id, m.subject, m.valid_from, coalesce(m.valid_to, DATE '9999-12-31') AS valid_to,
           m.source_line, m.source_order
    FROM marts.cost_centers AS m
    JOIN people AS p ON m.kind = 'user' AND m.subject IN (p.user_id, p.email)
)

SELECT DISTINCT a.source_line, b.source_line AS overlapping_line, a.organization_id, a.user_id,
       a.subject, b.subject AS overlapping_subject, greatest(a.valid_from, b.valid_from) AS overlap_from
FROM person_rows AS a
JOIN person_rows AS b
    ON a.organization_id = b.organization_id AND a.user_id = b.user_id AND a.source_order < b.source_order
    AND a.valid_from < b.valid_to AND b.valid_from < a.valid_to
ORDER BY a.source_order, b.source_order
