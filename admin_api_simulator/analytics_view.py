"""How the Usage and Cost Analytics API sees the synthetic organization's events.

The hourly records that feed the legacy reports are the only events; this module only reads them
differently, so the two APIs agree where they should:

- **actor** (precedence user > service account > federated > API key, applied to the legacy
  dimensions): OAuth traffic (``account_id``) is the user's ``user_actor``, workload traffic
  (``service_account_id``) a ``service_account_actor``, API-key traffic an ``api_actor``. Traffic
  with none of them is, in the Research workspace, two federated cloud identities (GCP and AWS,
  alternating by hour); elsewhere (Console/Workbench) three identities the server cannot render,
  alternating by hour: with ``group_by[]=actor`` they come back as separate ``actor: null`` rows.
- **product** (Console orgs): batch tier ``message_batches_api``; OAuth traffic ``claude_code``;
  traffic with Managed Agents session time ``managed_agents_api``; the rest ``messages_api``.
  Code execution is its own event with product, model, service tier, context window, inference geo
  and speed null; its usage ``requests`` are execution spans. Session time is billed as
  ``session_usage`` with the product kept and the model null.
- **workspace_id** is the real ID, also the default workspace's (the legacy reports say null);
  ``inference_geo`` "not_available" reads null; ``speed`` is "standard" on Messages events.
- **Enterprise orgs** (``org_type="enterprise"``): the same events as claude.ai traffic: every
  event is a member's ``user_actor`` (OAuth traffic its own user, other sources a fixed member each),
  products ``claude_code`` (OAuth traffic), else ``chat`` or ``cowork`` by hour, the standard tier,
  no session time, and ``workspace_id`` null (the default, only workspace).
- **cost**: ``list_amount`` is usage x the list price table (Priority Tier, which the table cannot
  price, at the standard rate: a choice, the real price is contractual); ``amount`` applies
  ``DISCOUNTS`` to a model's token and web-search cost. The legacy cost report keeps billing at
  list price and leaving Priority Tier out, so per workspace and day its amount equals the
  analytics ``list_amount`` of the non-priority tiers, exactly.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal, localcontext

import polars as pl

from pipelines.list_prices import CODE_EXECUTION_USD_PER_CONTAINER_HOUR, SESSION_USD_PER_SESSION_HOUR

from .entities import Cast
from .prices import TOKEN_TYPE_COLUMNS, PriceTable
from .timeutil import EPOCH, HOURS_PER_DAY

ORG_TYPES = ("console", "enterprise")
# The organization's negotiated discount by model (share of list price), on token and web-search cost.
DISCOUNTS: dict[str, Decimal] = {"claude-opus-4-6": Decimal("0.10")}
TOKEN_METRICS = {  # token_type -> the record's metric
    "uncached_input_tokens": "uncached_input_tokens",
    "cache_creation.ephemeral_5m_input_tokens": "cache_creation_5m_input_tokens",
    "cache_creation.ephemeral_1h_input_tokens": "cache_creation_1h_input_tokens",
    "cache_read_input_tokens": "cache_read_input_tokens",
    "output_tokens": "output_tokens",
}
USAGE_COLUMNS = (*TOKEN_METRICS.values(), "web_search_requests", "requests")
# Cost components: the token types, then the other cost types.
COMPONENTS = (*TOKEN_METRICS, "web_search", "code_execution", "session_usage")
# The event dimensions that can be non-null (the other group keys are always null here).
DIMENSIONS = ("workspace_id", "api_key_id", "actor", "actor_type", "model", "service_tier",
              "context_window", "inference_geo", "speed", "product")
# The legacy identity dimensions (and workspace) that tell a record's traffic source.
_SOURCE_COLUMNS = ("account_id", "api_key_id", "service_account_id", "workspace_id")
_UNRENDERED_IDENTITIES = 3
_FEDERATED = {
    "federated:gcp": {"type": "federated_actor", "provider": {"type": "gcp", "project_number": "418530221907"},
                      "subject": "serviceAccount:etl-runner@research-418530.iam.gserviceaccount.com"},
    "federated:aws": {"type": "federated_actor",
                      "provider": {"type": "aws", "account_id": "731402958116",
                                   "signed_principal": "arn:aws:iam::731402958116:role/research-batch"},
                      "subject": "arn:aws:iam::731402958116:role/research-batch"},
}
_CENTS = Decimal(100)
_MONEY = pl.Decimal(38, 18)
_COUNT = pl.Decimal(38, 0)


class AnalyticsView:
    """The Analytics API's reading of one organization's records."""

    def __init__(self, cast: Cast, prices: PriceTable, org_type: str = "console"):
        if org_type not in ORG_TYPES:
            raise ValueError(f"org_type must be one of {ORG_TYPES}")
        self._cast = cast
        self._prices = prices
        self.org_type = org_type
        self._research_id = next(w.id for w in cast.workspaces if w.name == "Research")
        # Enterprise: each non-OAuth traffic source is one member's usage.
        self._member_of_source = {
            "|".join(getattr(s, c) or "" for c in _SOURCE_COLUMNS): s.account_id or cast.users[index % len(cast.users)].id
            for index, s in enumerate(cast.traffic_sources)
        }
        self.actors: dict[str, dict | None] = {
            **{u.id: {"type": "user_actor", "user_id": u.id, "email_address": u.email, "name": u.name, "deleted": False}
               for u in cast.users},
            **{s.service_account_id: {"type": "service_account_actor", "service_account_id": s.service_account_id}
               for s in cast.traffic_sources if s.service_account_id},
            **{k.id: {"type": "api_actor", "api_key_id": k.id} for k in cast.api_keys},
            **_FEDERATED,
            **{f"unrendered:{n}": None for n in range(_UNRENDERED_IDENTITIES)},
        }

    def attribute(self, records: pl.DataFrame) -> pl.DataFrame:
        """Hourly records (before any split into buckets) with their actor, product and analytics dimensions."""
        records = records.with_columns(
            pl.col(c).cast(pl.String) for c in (*_SOURCE_COLUMNS, "model", "service_tier", "context_window", "inference_geo")
        )
        account, key, service_account, workspace = (pl.col(c) for c in _SOURCE_COLUMNS)
        if self.org_type == "enterprise":
            source = pl.concat_str([pl.col(c).fill_null("") for c in _SOURCE_COLUMNS], separator="|")
            return records.with_columns(
                actor=source.replace_strict(self._member_of_source, return_dtype=pl.String),
                actor_type=pl.lit("user_actor"),
                product=pl.when(account.is_not_null()).then(pl.lit("claude_code"))
                .when(pl.col("hour") % 3 == 0).then(pl.lit("cowork")).otherwise(pl.lit("chat")),
                workspace_id=pl.lit(None, pl.String),
                service_tier=pl.lit("standard"),
                session_millihours=pl.lit(0, pl.Int64),
            )
        no_identity = account.is_null() & key.is_null() & service_account.is_null()
        federated = no_identity & (workspace == self._research_id)
        actor = pl.coalesce(
            account,
            service_account,
            pl.when(federated).then(pl.when(pl.col("hour") % 2 == 0).then(pl.lit("federated:gcp"))
                                    .otherwise(pl.lit("federated:aws"))),
            key,
            pl.when(no_identity).then(pl.format("unrendered:{}", pl.col("hour") % _UNRENDERED_IDENTITIES)),
        )
        actor_type = (
            pl.when(account.is_not_null()).then(pl.lit("user_actor"))
            .when(service_account.is_not_null()).then(pl.lit("service_account_actor"))
            .when(federated).then(pl.lit("federated_actor"))
            .when(key.is_not_null()).then(pl.lit("api_actor"))
        )
        product = (
            pl.when(pl.col("service_tier") == "batch").then(pl.lit("message_batches_api"))
            .when(account.is_not_null()).then(pl.lit("claude_code"))
            .when(pl.col("session_millihours") > 0).then(pl.lit("managed_agents_api"))
            .otherwise(pl.lit("messages_api"))
        )
        return records.with_columns(actor=actor, actor_type=actor_type, product=product)

    def events(self, records: pl.DataFrame, with_cost: bool) -> pl.DataFrame:
        """Attributed records (split into buckets, column ``bucket``) as events: Messages, code
        execution, and (with cost) session time; usage metrics, and with cost each component's
        list and billed cents."""
        records = records.with_columns(
            inference_geo=pl.when(pl.col("inference_geo") != "not_available").then("inference_geo"),
            speed=pl.lit("standard"),
        )
        zero = pl.lit(0, pl.Int64)
        keys = ["bucket", "workspace_id", "api_key_id", "actor", "actor_type"]
        messages = records.select(
            *keys, "model", "service_tier", "context_window", "inference_geo", "speed", "product", *USAGE_COLUMNS,
        )
        code_execution = records.filter(pl.col("code_execution_millihours") > 0).select(
            *keys, *(zero.alias(m) for m in USAGE_COLUMNS[:-1]), requests=pl.col("code_execution_spans"),
            millihours=pl.col("code_execution_millihours"),
        )
        if not with_cost:
            return pl.concat([messages, code_execution.drop("millihours")], how="diagonal")
        sessions = records.filter(pl.col("session_millihours") > 0).select(
            *keys, "product", *(zero.alias(m) for m in USAGE_COLUMNS), millihours=pl.col("session_millihours"),
        )
        frames = [
            messages.hstack(self._message_cost(records)),
            code_execution.with_columns(_runtime_cents("code_execution", CODE_EXECUTION_USD_PER_CONTAINER_HOUR)),
            sessions.with_columns(_runtime_cents("session_usage", SESSION_USD_PER_SESSION_HOUR)),
        ]
        return pl.concat([frame.drop("millihours", strict=False) for frame in frames], how="diagonal").with_columns(
            pl.col(f"{kind}_{c}").fill_null(pl.lit(0, _MONEY)) for c in COMPONENTS for kind in ("list", "amount")
        )

    def _message_cost(self, records: pl.DataFrame) -> pl.DataFrame:
        """Per Messages event, each token type's and web search's list and billed cents."""
        keyed = records.select(
            day=pl.col("hour") // HOURS_PER_DAY,
            model=pl.col("model"),
            priced_tier=pl.when(pl.col("service_tier") == "batch").then(pl.lit("batch")).otherwise(pl.lit("standard")),
            priced_geo=pl.col("inference_geo").fill_null("not_available"),
        )
        prices = self._price_frame(keyed.unique())
        priced = keyed.join(prices, on=["day", "model", "priced_tier", "priced_geo"], how="left", maintain_order="left")
        amounts = []
        for component in COMPONENTS[:6]:
            metric = TOKEN_METRICS.get(component, "web_search_requests")
            count = records[metric].cast(_COUNT)
            amounts += [(count * priced[f"list_{component}"]).alias(f"list_{component}"),
                        (count * priced[f"amount_{component}"]).alias(f"amount_{component}")]
        return pl.DataFrame(amounts)

    def _price_frame(self, keys: pl.DataFrame) -> pl.DataFrame:
        """Cents per token (per search for web search), list and billed, for each (day, model, tier, geo)."""
        rows = []
        with localcontext(prec=60):
            for day_number, model, tier, geo in keys.iter_rows():
                day = EPOCH.date() + timedelta(days=day_number)
                keep = 1 - DISCOUNTS.get(model, Decimal(0))
                row = {"day": day_number, "model": model, "priced_tier": tier, "priced_geo": geo}
                for token_type in TOKEN_TYPE_COLUMNS:
                    cents = self._prices.price_per_mtok(model, token_type, day, tier, geo) * _CENTS / 1_000_000
                    row[f"list_{token_type}"], row[f"amount_{token_type}"] = cents, cents * keep
                cents = self._prices.web_search_per_1k(model, day) * _CENTS / 1_000
                row["list_web_search"], row["amount_web_search"] = cents, cents * keep
                rows.append(row)
        schema = {"day": pl.Int64, "model": pl.String, "priced_tier": pl.String, "priced_geo": pl.String,
                  **{f"{kind}_{c}": _MONEY for c in COMPONENTS[:6] for kind in ("list", "amount")}}
        return pl.DataFrame(rows, schema=schema)


def _runtime_cents(component: str, usd_per_hour: Decimal) -> list[pl.Expr]:
    """List and billed cents of container or session time (never discounted)."""
    cents = pl.col("millihours").cast(_COUNT) * pl.lit(usd_per_hour * _CENTS / 1_000, _MONEY)
    return [cents.alias(f"list_{component}"), cents.alias(f"amount_{component}")]
