-- The billed cost as a FinOps FOCUS 1.3 cost-and-usage dataset, from each day's bill source: on
-- cost-report days one row per allocation of marts.cost_allocation (FOCUS provider-calculated split
-- cost allocation), on Analytics API days one row per row of marts.actor_daily_cost (the provider's
-- own cost per actor: nothing split, the actor in Tags). BilledCost sums to the bill. SubAccount = the
-- workspace (the default workspace under its real ID); Allocated* carry the per-user split
-- (AllocatedResourceId = the user, else the API key, service account or 'console'); cost with no
-- usage to split it by (web search, code execution, session usage) has null Allocated*. Tags carry
-- the charge's cost center and team (intermediate.int_cost_center_cost; none when unmapped). On an
-- Analytics API day a charge has no product: when product mappings send its actor's products that day
-- to different cost centers, it carries none and 'anthropic/cost_center_split_by' = 'product' instead.
-- A frozen day keeps the tags it was exported with (a mapping change is not a correction).
-- PricingQuantity and ListUnitPrice come from marts.list_prices: tokens in millions for allocated
-- token charges; for the others the quantity is derived from the list cost where the source has one
-- (the Analytics API's list_amount, which is then ListCost), else from the bill, at the list unit
-- price (rounded to 1e-12). A charge without any list price is expressed in 'USD' units at 1.0.
--
-- This table is the export ledger, so it keeps state between builds: the rows of a UTC day are
-- replaced by each build until they have been exported after their billing period (the calendar
-- month) ended; from then on they are frozen, and a later change of that day's numbers is exported
-- as a ChargeClass 'Correction' row per charge with the difference, in the billing period in which
-- it was found. x_ChargeKey identifies a charge across builds, x_ExportedAt is when a row was written.
-- A build rewrites only the days in the temp table mart_build_dates (every day on a full build),
-- plus the days exported before their billing period ended, which it adds there: re-exporting
-- them now freezes them.
-- Grain: x_ChargeKey, BillingPeriodStart
-- Incremental: ChargePeriodStart
CREATE TABLE IF NOT EXISTS marts.focus_costs (
    AllocatedMethodDetails  JSON,
    AllocatedMethodId       VARCHAR,
    AllocatedResourceId     VARCHAR,
    AllocatedResourceName   VARCHAR,
    AllocatedTags           JSON,
    BilledCost              DECIMAL(38, 14) NOT NULL,
    BillingAccountId        VARCHAR         NOT NULL,
    BillingAccountName      VARCHAR,
    BillingCurrency         VARCHAR         NOT NULL,
    BillingPeriodEnd        TIMESTAMPTZ     NOT NULL,
    BillingPeriodStart      TIMESTAMPTZ     NOT NULL,
    ChargeCategory          VARCHAR         NOT NULL,
    ChargeClass             VARCHAR,
    ChargeDescription       VARCHAR,
    ChargeFrequency         VARCHAR,
    ChargePeriodEnd         TIMESTAMPTZ     NOT NULL,
    ChargePeriodStart       TIMESTAMPTZ     NOT NULL,
    ConsumedQuantity        DECIMAL(38, 12),
    ConsumedUnit            VARCHAR,
    ContractedCost          DECIMAL(38, 14) NOT NULL,
    ContractedUnitPrice     DECIMAL(38, 14),
    EffectiveCost           DECIMAL(38, 14) NOT NULL,
    HostProviderName        VARCHAR         NOT NULL,
    InvoiceId               VARCHAR,
    InvoiceIssuerName       VARCHAR         NOT NULL,
    ListCost                DECIMAL(38, 14) NOT NULL,
    ListUnitPrice           DECIMAL(38, 14),
    PricingCategory         VARCHAR,
    PricingQuantity         DECIMAL(38, 12),
    PricingUnit             VARCHAR,
    ProviderName            VARCHAR         NOT NULL,
    PublisherName           VARCHAR         NOT NULL,
    RegionId                VARCHAR,
    RegionName              VARCHAR,
    ServiceCategory         VARCHAR         NOT NULL,
    ServiceName             VARCHAR         NOT NULL,
    ServiceProviderName     VARCHAR         NOT NULL,
    ServiceSubcategory      VARCHAR,
    SkuId                   VARCHAR,
    SkuMeter                VARCHAR,
    SkuPriceDetails         JSON,
    SkuPriceId              VARCHAR,
    SubAccountId            VARCHAR,
    SubAccountName          VARCHAR,
    SubAccountType          VARCHAR,
    Tags                    JSON,
    x_ChargeKey             VARCHAR         NOT NULL,
    x_ExportedAt            TIMESTAMPTZ     NOT NULL
);

INSERT INTO mart_build_dates
SELECT DISTINCT CAST(ChargePeriodStart AS DATE) FROM marts.focus_costs
WHERE x_ExportedAt < BillingPeriodEnd AND BillingPeriodEnd <= current_timestamp
EXCEPT SELECT date FROM mart_build_dates;

CREATE OR REPLACE TEMP TABLE focus_days AS
SELECT DISTINCT CAST(date AS TIMESTAMPTZ) AS ChargePeriodStart FROM mart_build_dates;

CREATE OR REPLACE TEMP TABLE focus_current AS
WITH charges AS (
    SELECT * FROM marts.cost_allocation
    UNION ALL BY NAME
    SELECT * EXCLUDE (actor_email, actor_name, federated_provider, api_key_name, discount_usd)
    FROM marts.actor_daily_cost
),

organizations AS (
    SELECT organization_id, name AS organization_name FROM raw.organization WHERE is_current
),

workspaces AS (
    SELECT organization_id, workspace_id, workspace_name, tags
    FROM marts.dim_workspaces
    WHERE is_latest_version
),

users AS (
    SELECT organization_id, user_id, user_email FROM marts.dim_users WHERE is_latest_version
),

cost_centers AS (   -- one per charge's workspace, key and actor: the cost center all its products go to
    SELECT
        organization_id, date, workspace_id, api_key_id, user_id, service_account_id, federated_subject,
        CASE WHEN count(DISTINCT (cost_center, team)) = 1 THEN any_value(cost_center) END AS cost_center,
        CASE WHEN count(DISTINCT (cost_center, team)) = 1 THEN any_value(team) END        AS team,
        CASE WHEN count(DISTINCT (cost_center, team)) > 1 THEN 'product' END          AS split_by
    FROM intermediate.int_cost_center_cost
    WHERE CAST(date AS TIMESTAMPTZ) IN (SELECT ChargePeriodStart FROM focus_days)
    GROUP BY ALL
),

web_search_day_prices AS (   -- web search is billed per workspace, not per model: the day's list price
    SELECT d.date, max(p.list_usd_per_unit) AS list_usd_per_unit,
           arg_max(p.effective_from, (p.list_usd_per_unit, p.effective_from)) AS effective_from  -- that price's row
    FROM (SELECT DISTINCT date FROM charges WHERE cost_type = 'web_search') AS d
    JOIN marts.list_prices AS p
        ON p.price_type = 'web_search' AND d.date >= p.effective_from
        AND (p.effective_to IS NULL OR d.date < p.effective_to)
    GROUP BY d.date
),

priced AS (
    SELECT
        a.*,
        coalesce(token_price.list_usd_per_unit, web_search.list_usd_per_unit, runtime.list_usd_per_unit)
                                                                        AS list_usd_per_unit,
        coalesce(token_price.effective_from, web_search.effective_from, runtime.effective_from)
                                                                        AS price_effective_from,
        coalesce(token_price.pricing_unit, runtime.pricing_unit,
                 CASE WHEN web_search.date IS NOT NULL THEN '1000 Requests' END, 'USD') AS pricing_unit,
        coalesce(token_price.consumed_unit, runtime.consumed_unit,
                 CASE WHEN web_search.date IS NOT NULL THEN 'Requests' END, 'USD') AS consumed_unit,
        coalesce(token_price.consumed_per_pricing_unit, runtime.consumed_per_pricing_unit,
                 CASE WHEN web_search.date IS NOT NULL THEN 1000 END, 1) AS consumed_per_pricing_unit,
        CASE WHEN a.inference_geo IN ('global', 'us') THEN a.inference_geo END AS region
    FROM (SELECT * FROM charges WHERE CAST(date AS TIMESTAMPTZ) IN (SELECT ChargePeriodStart FROM focus_days)) AS a
    LEFT JOIN marts.list_prices AS token_price
        ON  a.cost_type = 'tokens' AND token_price.price_type = 'tokens'
        AND token_price.model = a.model AND token_price.token_type = a.token_type
        AND token_price.service_tier = CASE WHEN a.service_tier = 'batch' THEN 'batch' ELSE 'standard' END
        AND token_price.inference_geo = CASE WHEN a.inference_geo = 'us' THEN 'us' ELSE 'global' END
        AND a.date >= token_price.effective_from
        AND (token_price.effective_to IS NULL OR a.date < token_price.effective_to)
    LEFT JOIN web_search_day_prices AS web_search
        ON a.cost_type = 'web_search' AND web_search.date = a.date
    LEFT JOIN marts.list_prices AS runtime
        ON runtime.price_type = a.cost_type AND runtime.price_type IN ('code_execution', 'session_usage')
),

quantified AS (
    SELECT
        *,
        coalesce(list_usd_per_unit, 1)                                  AS unit_price,
        CASE
            WHEN allocation_status = 'allocated' THEN CAST(tokens * 0.000001 AS DECIMAL(38, 12))
            WHEN list_usd_per_unit IS NULL THEN CAST(coalesce(list_cost_usd, cost_usd) AS DECIMAL(38, 12))
            ELSE CAST(round(CAST(coalesce(list_cost_usd, cost_usd) AS DOUBLE) / CAST(list_usd_per_unit AS DOUBLE), 12)
                      AS DECIMAL(38, 12))
        END                                                             AS pricing_quantity
    FROM priced
)

SELECT
    CASE WHEN q.allocation_status = 'allocated' THEN json_object('Elements', [json_object(
        'AllocatedRatio', q.tokens / q.cell_tokens, 'UsageUnit', 'Tokens', 'UsageQuantity', q.tokens)]) END
                                                                        AS AllocatedMethodDetails,
    CASE WHEN q.allocation_status = 'allocated' THEN 'anthropic-usage-pipeline/tokens-largest-remainder' END
                                                                        AS AllocatedMethodId,
    CASE WHEN q.allocation_status = 'allocated'
         THEN coalesce(q.user_id, q.api_key_id, q.service_account_id, 'console') END AS AllocatedResourceId,
    CASE WHEN q.allocation_status = 'allocated'
         THEN coalesce(u.user_email, k.api_key_name, q.api_key_id, q.service_account_id, 'Console / Workbench') END
                                                                        AS AllocatedResourceName,
    CASE WHEN q.allocation_status = 'allocated' THEN json_object(
        'anthropic/attributed_by', q.attributed_by, 'anthropic/unattributed_reason', q.unattributed_reason) END
                                                                        AS AllocatedTags,
    q.cost_usd                                                          AS BilledCost,
    q.organization_id                                                   AS BillingAccountId,
    o.organization_name                                                 AS BillingAccountName,
    coalesce(q.currency, 'USD')                                         AS BillingCurrency,
    CAST(date_trunc('month', q.date) + INTERVAL 1 MONTH AS TIMESTAMPTZ) AS BillingPeriodEnd,
    CAST(date_trunc('month', q.date) AS TIMESTAMPTZ)                    AS BillingPeriodStart,
    'Usage'                                                             AS ChargeCategory,
    NULL                                                                AS ChargeClass,
    q.description                                                       AS ChargeDescription,
    'Usage-Based'                                                       AS ChargeFrequency,
    CAST(q.date + INTERVAL 1 DAY AS TIMESTAMPTZ)                        AS ChargePeriodEnd,
    CAST(q.date AS TIMESTAMPTZ)                                         AS ChargePeriodStart,
    q.pricing_quantity * q.consumed_per_pricing_unit                    AS ConsumedQuantity,
    q.consumed_unit                                                     AS ConsumedUnit,
    CAST(q.unit_price * q.pricing_quantity AS DECIMAL(38, 14))          AS ContractedCost,
    q.unit_price                                                        AS ContractedUnitPrice,
    q.cost_usd                                                          AS EffectiveCost,
    'Anthropic'                                                         AS HostProviderName,
    NULL                                                                AS InvoiceId,
    'Anthropic'                                                         AS InvoiceIssuerName,
    coalesce(q.list_cost_usd, CAST(q.unit_price * q.pricing_quantity AS DECIMAL(38, 14))) AS ListCost,
    q.unit_price                                                        AS ListUnitPrice,
    'Standard'                                                          AS PricingCategory,
    q.pricing_quantity                                                  AS PricingQuantity,
    q.pricing_unit                                                      AS PricingUnit,
    'Anthropic'                                                         AS ProviderName,
    'Anthropic'                                                         AS PublisherName,
    q.region                                                            AS RegionId,
    CASE q.region WHEN 'us' THEN 'United States' WHEN 'global' THEN 'Global' END AS RegionName,
    'AI and Machine Learning'                                           AS ServiceCategory,
    'Claude API'                                                        AS ServiceName,
    'Anthropic'                                                         AS ServiceProviderName,
    'Generative AI'                                                     AS ServiceSubcategory,
    CASE WHEN q.cost_type = 'tokens'
         THEN concat_ws(':', q.model, q.token_type, q.service_tier, q.context_window)
         ELSE coalesce(q.cost_type, 'unknown') END                      AS SkuId,
    coalesce(q.token_type, q.cost_type)                                 AS SkuMeter,
    CASE WHEN q.cost_type = 'tokens' THEN json_object(
        'model', q.model, 'token_type', q.token_type, 'service_tier', q.service_tier,
        'context_window', q.context_window, 'inference_geo', q.inference_geo) END AS SkuPriceDetails,
    concat_ws(':', CASE WHEN q.cost_type = 'tokens'
                        THEN concat_ws(':', q.model, q.token_type, q.service_tier, q.context_window)
                        ELSE coalesce(q.cost_type, 'unknown') END,
              q.region, q.price_effective_from)                         AS SkuPriceId,
    q.workspace_id                                                      AS SubAccountId,
    q.workspace_name                                                    AS SubAccountName,
    'Workspace'                                                         AS SubAccountType,
    json_merge_patch(coalesce(w.tags, '{}'), json_object(
        'anthropic/api_key_id', q.api_key_id, 'anthropic/api_key_name', k.api_key_name,
        'anthropic/user_id', q.user_id, 'anthropic/user_email', u.user_email,
        'anthropic/service_tier', q.service_tier, 'anthropic/context_window', q.context_window,
        'anthropic/inference_geo', q.inference_geo, 'anthropic/actor_type', q.actor_type,
        'anthropic/actor_id', q.actor_id, 'anthropic/federated_subject', q.federated_subject,
        'anthropic/cost_center', cc.cost_center, 'anthropic/team', cc.team,
        'anthropic/cost_center_split_by', cc.split_by)) AS Tags,
    md5(concat_ws('|', q.organization_id, q.date, q.workspace_id, q.cost_type, q.model, q.token_type,
                  q.service_tier, q.context_window, q.inference_geo, q.allocation_status,
                  q.api_key_id, q.account_id, q.service_account_id,
                  -- NULL on cost-report days, so their keys are those of earlier builds
                  q.actor_type, q.actor_id, q.federated_provider_id, q.federated_subject)) AS x_ChargeKey,
    current_timestamp                                                   AS x_ExportedAt
FROM quantified AS q
LEFT JOIN organizations AS o USING (organization_id)
LEFT JOIN workspaces AS w USING (organization_id, workspace_id)
LEFT JOIN users AS u ON u.organization_id = q.organization_id AND u.user_id = q.user_id
LEFT JOIN marts.dim_api_keys AS k
    ON  k.organization_id = q.organization_id
    AND k.api_key_id = q.api_key_id
    AND k.valid_from <= CAST(q.date AS TIMESTAMPTZ)
    AND (k.valid_to IS NULL OR CAST(q.date AS TIMESTAMPTZ) < k.valid_to)
LEFT JOIN cost_centers AS cc
    ON  cc.organization_id = q.organization_id
    AND cc.date = q.date
    AND cc.workspace_id IS NOT DISTINCT FROM q.workspace_id
    AND cc.api_key_id IS NOT DISTINCT FROM CASE WHEN q.actor_type = 'api_actor' THEN q.actor_id ELSE q.api_key_id END
    AND cc.user_id IS NOT DISTINCT FROM q.user_id
    AND cc.service_account_id IS NOT DISTINCT FROM CASE WHEN q.actor_type = 'service_account_actor' THEN q.actor_id END
    AND cc.federated_subject IS NOT DISTINCT FROM CASE WHEN q.actor_type = 'federated_actor' THEN q.federated_subject END;

-- Rows of these days written while their billing period was still open are replaced by this build.
DELETE FROM marts.focus_costs
WHERE x_ExportedAt < BillingPeriodEnd AND ChargePeriodStart IN (SELECT ChargePeriodStart FROM focus_days);

-- What is left of these days was exported after its billing period had ended: they are frozen.
CREATE OR REPLACE TEMP TABLE focus_frozen_days AS
SELECT DISTINCT BillingAccountId, ChargePeriodStart FROM marts.focus_costs
WHERE ChargeClass IS NULL AND ChargePeriodStart IN (SELECT ChargePeriodStart FROM focus_days);

-- Days not frozen: the current rows.
INSERT INTO marts.focus_costs BY NAME
SELECT c.*
FROM focus_current AS c
ANTI JOIN focus_frozen_days AS f USING (BillingAccountId, ChargePeriodStart);

-- Frozen days whose numbers changed: per charge, the difference to everything exported so far.
INSERT INTO marts.focus_costs BY NAME
WITH exported AS (
    SELECT
        x_ChargeKey,
        sum(BilledCost) AS billed_cost, sum(EffectiveCost) AS effective_cost, sum(ListCost) AS list_cost,
        sum(ContractedCost) AS contracted_cost, sum(PricingQuantity) AS pricing_quantity,
        sum(ConsumedQuantity) AS consumed_quantity
    FROM marts.focus_costs
    SEMI JOIN focus_frozen_days USING (BillingAccountId, ChargePeriodStart)
    GROUP BY x_ChargeKey
),

restated AS (
    SELECT c.* FROM focus_current AS c SEMI JOIN focus_frozen_days USING (BillingAccountId, ChargePeriodStart)
    UNION ALL BY NAME
    -- charges exported before that the data no longer has: corrected to zero
    SELECT f.* REPLACE (0 AS BilledCost, 0 AS EffectiveCost, 0 AS ListCost, 0 AS ContractedCost,
                        0 AS PricingQuantity, 0 AS ConsumedQuantity)
    FROM marts.focus_costs AS f
    SEMI JOIN focus_frozen_days USING (BillingAccountId, ChargePeriodStart)
    WHERE f.ChargeClass IS NULL AND f.x_ChargeKey NOT IN (SELECT x_ChargeKey FROM focus_current)
)

SELECT r.* REPLACE (
    r.BilledCost - coalesce(e.billed_cost, 0)                           AS BilledCost,
    r.EffectiveCost - coalesce(e.effective_cost, 0)                     AS EffectiveCost,
    r.ListCost - coalesce(e.list_cost, 0)                               AS ListCost,
    r.ContractedCost - coalesce(e.contracted_cost, 0)                   AS ContractedCost,
    r.PricingQuantity - coalesce(e.pricing_quantity, 0)                 AS PricingQuantity,
    r.ConsumedQuantity - coalesce(e.consumed_quantity, 0)               AS ConsumedQuantity,
    'Correction'                                                        AS ChargeClass,
    date_trunc('month', current_timestamp)                              AS BillingPeriodStart,
    date_trunc('month', current_timestamp) + INTERVAL 1 MONTH           AS BillingPeriodEnd
)
FROM restated AS r
LEFT JOIN exported AS e USING (x_ChargeKey)
WHERE r.BilledCost <> coalesce(e.billed_cost, 0)
   OR r.PricingQuantity IS DISTINCT FROM coalesce(e.pricing_quantity, 0);

DROP TABLE focus_current;
DROP TABLE focus_frozen_days;
DROP TABLE focus_days;
