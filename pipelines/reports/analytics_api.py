"""What the two Usage and Cost Analytics API reports share: the beta header, the requests of a window
(one query per grouping), the `group` object with its actor union, and flattening it into columns.

Each row is `{starting_at, ending_at, group: {...}, usage|cost: {...}}`; `group` always carries every
key, null unless grouped. A query may group by at most 5 dimensions, so a window is fetched once per
grouping (see `Grouping`); rows of different groupings describe the same usage twice, so marts read
one grouping at a time. Identities the API cannot render come back as several rows with the same
all-null actor: they are kept as separate rows (numbered by `row_ordinal`) and summed by the marts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import polars as pl

from pipelines.api import AdminApiClient
from pipelines.normalize import SchemaDrift
from pipelines.normalize.pages import ReportPage
from pipelines.reports.spec import FetchedWindow
from pipelines.reports.windows import fetch_window, rfc3339

BETA = "analytics-usage-cost-2026-08-24"
FIRST_DAY = date(2026, 1, 1)  # the API has no data before this day
HISTORY_DAYS = 365  # nor older than this
MAX_DAYS_PER_REQUEST = 31
PAGE_ROWS = 1000  # the largest `limit`: rows per page


@dataclass(frozen=True)
class Grouping:
    """One query of a window: its name (the `grouping` column) and its group_by[] dimensions."""

    name: str
    group_by: tuple[str, ...]


def serves(day: date, today: date) -> bool:
    """Whether the Analytics API has data for this UTC day: from 2026-01-01, within the last 365 days."""
    return day >= FIRST_DAY and day > today - timedelta(days=HISTORY_DAYS)


ACTOR = pl.Struct({
    "type": pl.String,
    "user_id": pl.String,
    "email_address": pl.String,
    "name": pl.String,
    "deleted": pl.Boolean,
    "service_account_id": pl.String,
    "api_key_id": pl.String,
    "provider": pl.Struct({
        "type": pl.String, "account_id": pl.String, "signed_principal": pl.String,
        "subscription_id": pl.String, "project_number": pl.String, "issuer": pl.String,
    }),
    "subject": pl.String,
})
# Every documented key of `group` but the actor, as the raw column it loads into.
GROUP_COLUMNS = {
    "workspace_id": "workspace_id",
    "api_key_id": "api_key_id",
    "model": "model",
    "service_tier": "service_tier",
    "context_window": "context_window",
    "inference_geo": "inference_geo",
    "speed": "speed",
    "product": "product",
    "actor_type": "actor_type",
    "agent_id": "agent_id",
    "deployment_id": "deployment_id",
    "environment_id": "environment_id",
    "session_id": "session_id",
    "user_profile_id": "user_profile_id",
    "rbac_group_id": "rbac_group_id",
    "slack_channel_id": "slack_channel_id",
    "claude_tag_category": "claude_tag_category",
    "claude_tag_user_id": "claude_tag_user_id",
    "organization_id": "child_organization_id",  # a parent organization's report across its children
}
ACTOR_COLUMNS = (
    "actor_id", "actor_email", "actor_name", "actor_deleted",
    "federated_provider", "federated_provider_id", "federated_subject",
)
# What identifies a row within a window, besides a report's own group keys (cost_type, token_type).
KEY_COLUMNS = ("grouping", "bucket_start", *GROUP_COLUMNS.values(), *ACTOR_COLUMNS)
KNOWN_VALUES = {
    "actor_type": {"api_actor", "federated_actor", "service_account_actor", "user_actor"},
    "service_tier": {"batch", "flex", "flex_discount", "priority", "priority_on_demand", "standard"},
    "context_window": {"0-200k", "200k-1M"},
    "inference_geo": {"global", "us"},
    "speed": {"fast", "standard"},
    "federated_provider": {"aws", "azure", "gcp", "oidc"},
}


def group_struct(extra_keys: Sequence[str] = ()) -> pl.Struct:
    """The `group` object: every documented key (plus `extra_keys`), the actor as its union."""
    return pl.Struct({"actor": ACTOR, **dict.fromkeys((*GROUP_COLUMNS, *extra_keys), pl.String)})


def group_columns(extra_keys: Sequence[str] = ()) -> list[pl.Expr]:
    """`group` flattened: one column per key, and the actor as id, email, name, deleted and the
    federated identity. `actor_type` falls back to the actor's own type."""
    group, actor = pl.col("group").struct, pl.col("group").struct.field("actor").struct
    provider = actor.field("provider").struct
    columns = [group.field(key).alias(column) for key, column in GROUP_COLUMNS.items() if key != "actor_type"]
    return [
        *columns,
        *(group.field(key).alias(key) for key in extra_keys),
        pl.coalesce(group.field("actor_type"), actor.field("type")).alias("actor_type"),
        pl.coalesce(actor.field("user_id"), actor.field("service_account_id"), actor.field("api_key_id")).alias("actor_id"),
        actor.field("email_address").alias("actor_email"),
        actor.field("name").alias("actor_name"),
        actor.field("deleted").alias("actor_deleted"),
        provider.field("type").alias("federated_provider"),
        pl.coalesce(
            provider.field("account_id"), provider.field("subscription_id"),
            provider.field("project_number"), provider.field("issuer"),
        ).alias("federated_provider_id"),
        actor.field("subject").alias("federated_subject"),
    ]


def fetch_groupings(
    client: AdminApiClient,
    path: str,
    table: str,
    groupings: Sequence[Grouping],
    decode: Callable[[bytes], ReportPage],
    start: datetime,
    end: datetime,
    extra_keys: Sequence[str] = (),
) -> FetchedWindow:
    """Every grouping's rows of one window [start, end) of daily buckets, in time order, into `table`.

    Rows that share every key (the null-actor rows of distinct identities) are numbered by
    `row_ordinal` (1, 2, ... in the order the API sent them), so every raw row stays distinct.
    """
    windows = []
    for grouping in groupings:
        params = [
            ("starting_at", rfc3339(start)),
            ("ending_at", rfc3339(end)),
            ("time_bucket_width", "1d"),
            ("limit", str(PAGE_ROWS)),
            ("order_by", "time"),
            ("order", "asc"),
            *(("group_by[]", dimension) for dimension in grouping.group_by),
        ]
        windows.append(fetch_window(
            client, path, params, decode, start, end,
            lambda page, name=grouping.name: {
                table: page.rows.with_columns(grouping=pl.lit(name), bucket_width=pl.lit("1d"))
            },
            beta=(BETA,),
        ))
    frames = [window.tables[table] for window in windows if table in window.tables]
    rows = pl.concat(frames, how="vertical") if frames else None
    if rows is not None:
        keys = [*KEY_COLUMNS, *extra_keys]
        rows = rows.with_columns(row_ordinal=(pl.int_range(pl.len()).over(keys) + 1).cast(pl.Int64))
    return FetchedWindow(
        start, end,
        {table: rows} if rows is not None else {},
        sum(window.pages for window in windows),
        sum(window.requests for window in windows),
        sum((window.drift for window in windows), SchemaDrift()),
    )


