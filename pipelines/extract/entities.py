"""Fetch complete snapshots of the entity lists that give report IDs their names.

Entity lists are small, so each snapshot is fetched whole (every page, archived workspaces
included) and handed to the history loader, which keeps every version.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl

from pipelines.api import (
    AdminApiClient,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    iter_list_pages,
)
from pipelines.normalize import (
    MalformedPage,
    SchemaDrift,
    decode_api_keys_page,
    decode_invites_page,
    decode_organization,
    decode_users_page,
    decode_workspace_members_page,
    decode_workspaces_page,
)

ORGANIZATION_PATH = "/v1/organizations/me"


@dataclass(frozen=True)
class EntityList:
    """One list endpoint and the history table it feeds."""

    table: str
    path: str
    decode: Callable[[bytes], Any]
    key_columns: tuple[str, ...]
    params: tuple[tuple[str, str], ...] = ()


USERS = EntityList("raw.users", "/v1/organizations/users", decode_users_page, ("id",))
INVITES = EntityList("raw.invites", "/v1/organizations/invites", decode_invites_page, ("id",))
WORKSPACES = EntityList(
    "raw.workspaces", "/v1/organizations/workspaces", decode_workspaces_page, ("id",),
    (("include_archived", "true"), ("include_default", "true")),
)
# The API marks no workspace as the default: the one this list (without include_default) leaves out is.
WORKSPACES_WITHOUT_DEFAULT = (("include_archived", "true"),)
API_KEYS = EntityList("raw.api_keys", "/v1/organizations/api_keys", decode_api_keys_page, ("id",))
WORKSPACE_MEMBERS_TABLE = "raw.workspace_members"

# Natural keys of every history table, used by the SCD2 merge.
ENTITY_KEYS: dict[str, tuple[str, ...]] = {
    "raw.organization": ("id",),
    USERS.table: USERS.key_columns,
    INVITES.table: INVITES.key_columns,
    WORKSPACES.table: WORKSPACES.key_columns,
    WORKSPACE_MEMBERS_TABLE: ("workspace_id", "user_id"),
    API_KEYS.table: API_KEYS.key_columns,
}


@dataclass(frozen=True)
class EntitySnapshot:
    """Every entity table of one organization as the API lists it now."""

    organization_id: str
    organization_name: str | None
    tables: dict[str, pl.DataFrame]
    drift: SchemaDrift
    requests: int
    skipped: tuple[str, ...] = ()
    """Tables the key may not list (403, e.g. a Claude Enterprise `read:analytics` key): not snapshotted,
    so their history is kept as it was."""


def fetch_organization(client: AdminApiClient) -> pl.DataFrame:
    """The organization the key belongs to (one row: id, name, type, extras)."""
    response = client.get(ORGANIZATION_PATH)
    try:
        return decode_organization(response.content)
    except MalformedPage as exc:
        raise MalformedResponseError(f"not an organization: {exc}", status=response.status,
                                     request_id=response.request_id, endpoint=response.endpoint) from exc


def fetch_entity_snapshot(client: AdminApiClient, organization: pl.DataFrame) -> EntitySnapshot:
    """Users, invites, workspaces (archived and default too), their members and API keys, all pages;
    the lists the key may not read (403) are skipped."""
    requests_before = client.stats.requests
    drift, skipped = SchemaDrift(), []
    tables = {"raw.organization": organization}
    for entity in (USERS, INVITES, WORKSPACES, API_KEYS):
        try:
            tables[entity.table], page_drift = _fetch_list(client, entity.path, entity.params, entity.decode)
            if entity is WORKSPACES:
                tables[entity.table] = _mark_default_workspace(client, tables[entity.table])
        except PermissionDeniedError:
            skipped.append(entity.table)
            continue
        drift = drift + page_drift
    member_frames = []
    workspace_ids = tables[WORKSPACES.table].get_column("id").to_list() if WORKSPACES.table in tables else []
    try:
        for workspace_id in workspace_ids:
            try:
                members, page_drift = _fetch_list(
                    client, f"/v1/organizations/workspaces/{workspace_id}/members", (), decode_workspace_members_page
                )
            except NotFoundError:
                continue  # an archived workspace may no longer list members; its history is kept
            member_frames.append(members)
            drift = drift + page_drift
    except PermissionDeniedError:
        skipped.append(WORKSPACE_MEMBERS_TABLE)
    if WORKSPACES.table not in tables:
        skipped.append(WORKSPACE_MEMBERS_TABLE)
    elif WORKSPACE_MEMBERS_TABLE not in skipped:
        tables[WORKSPACE_MEMBERS_TABLE] = pl.concat(member_frames) if member_frames else decode_workspace_members_page(
            b'{"data":[],"has_more":false,"first_id":null,"last_id":null}').rows
    return EntitySnapshot(
        organization_id=organization.item(0, "id"),
        organization_name=organization.item(0, "name"),
        tables=tables,
        drift=drift,
        requests=client.stats.requests - requests_before,
        skipped=tuple(skipped),
    )


def _mark_default_workspace(client: AdminApiClient, workspaces: pl.DataFrame) -> pl.DataFrame:
    """The workspaces with ``is_default``: listed with include_default but not without it. Listed after
    the full list, so a workspace created in between is not taken for the default."""
    others, _ = _fetch_list(client, WORKSPACES.path, WORKSPACES_WITHOUT_DEFAULT, WORKSPACES.decode)
    return workspaces.with_columns(is_default=~pl.col("id").is_in(others.get_column("id").to_list()))


def _fetch_list(
    client: AdminApiClient, path: str, params: tuple[tuple[str, str], ...], decode: Callable[[bytes], Any]
) -> tuple[pl.DataFrame, SchemaDrift]:
    frames, drift = [], SchemaDrift()
    for page in iter_list_pages(client, path, list(params), decode):
        frames.append(page.rows)
        drift = drift + page.drift
    return pl.concat(frames), drift
