"""Entity list pages (users, invites, workspaces, members, API keys) and the organization.

Entity lists are small (at most 1000 objects a page), so they are read with `json.loads` and
mapped declaratively: each `Entity` names its table's columns in DDL order and where each
sits in the API object. Every field without a column lands in `extras`; the documented ones
(an object's `type`, a workspace's `compartment_id`, ...) quietly, the rest also as drift.
Timestamps become UTC; the SCD columns (row_hash, valid_from, ...) are the loader's job.
"""

from __future__ import annotations

import logging
import reprlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from pipelines.normalize.columns import parse_timestamps, require_values
from pipelines.normalize.drift import SchemaDrift, Shape, drift_and_extras, enum_drift
from pipelines.normalize.pages import (
    ListPage, MalformedPage, as_object, has_more_value, json_text, list_field, optional_string, parse_json,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Entity:
    """How one entity's API objects map onto its raw table."""

    columns: tuple[str, ...]
    """The table's columns in DDL order, without organization_id, extras and the SCD columns."""
    paths: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Column -> dotted API paths, first non-null wins; a column not listed reads its own name."""
    timestamps: tuple[str, ...] = ()
    json_columns: tuple[str, ...] = ()
    """Columns holding the API value as JSON text (a list, a map, or a list-or-string union)."""
    required: tuple[str, ...] = ("id",)
    documented: tuple[str, ...] = ("type",)
    """Documented fields without a column: kept in `extras`, not reported as drift."""
    known_values: Mapping[str, set[str]] = field(default_factory=dict)
    aliases: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Column -> API value -> stored value, where two API versions spell one thing differently."""

    @property
    def shape(self) -> Shape:
        """The API fields that have a column; everything else goes to `extras`."""
        shape: dict[str, Any] = {}
        for column in self.columns:
            for path in self.paths.get(column, (column,)):
                *parents, leaf = path.split(".")
                node = shape
                for key in parents:
                    node = node.setdefault(key, {})
                node[leaf] = None
        return shape

    def row(self, api_object: dict[str, Any], where: str) -> dict[str, str | None]:
        """One table row (text; timestamps are parsed per frame) from one API object."""
        row = {}
        for column in self.columns:
            value = _first_value(api_object, self.paths.get(column, (column,)))
            if column in self.json_columns:
                value = None if value is None else json_text(value)
            elif value is not None and not isinstance(value, str):
                raise MalformedPage(f"{where}: {column} must be a string, got {reprlib.repr(value)}")
            row[column] = self.aliases.get(column, {}).get(value, value)
        return row


ROLES = {
    "user", "developer", "billing", "admin", "claude_code_user",
    "owner", "primary_owner", "membership_admin", "managed",  # Enterprise organizations
}

ORGANIZATION = Entity(columns=("id", "name", "type"), documented=())
USERS = Entity(
    columns=("id", "email", "name", "role", "added_at"),
    timestamps=("added_at",),
    known_values={"role": ROLES},
)
INVITES = Entity(
    columns=("id", "email", "role", "status", "invited_at", "expires_at", "accepted_at"),
    timestamps=("invited_at", "expires_at", "accepted_at"),
    documented=("type", "rbac_group_ids"),
    known_values={"role": ROLES, "status": {"accepted", "expired", "deleted", "pending"}},
)
WORKSPACES = Entity(
    columns=(
        "id", "name", "display_color", "created_at", "archived_at", "workspace_geo",
        "allowed_inference_geos", "default_inference_geo", "tags",
    ),
    paths={
        "workspace_geo": ("data_residency.workspace_geo",),
        "allowed_inference_geos": ("data_residency.allowed_inference_geos",),
        "default_inference_geo": ("data_residency.default_inference_geo",),
    },
    timestamps=("created_at", "archived_at"),
    json_columns=("allowed_inference_geos", "tags"),
    documented=("type", "compartment_id", "external_key_id"),
)
WORKSPACE_MEMBERS = Entity(
    columns=("workspace_id", "user_id", "workspace_role"),
    required=("workspace_id", "user_id"),
    known_values={
        "workspace_role": {
            "workspace_user", "workspace_developer", "workspace_restricted_developer",
            "workspace_admin", "workspace_billing",
        },
    },
)
# Two shapes: older keys carry `workspace_id` (null = default workspace) and `created_by`;
# newer ones `principal` ({id, type: user|service_account}, or the union
# {type: user_actor, user_id} | {type: service_account_actor, service_account_id}) and
# `scope` ({type: workspace, workspace_id} | {type: organization}). Whatever is absent is null.
API_KEYS = Entity(
    columns=(
        "id", "name", "status", "created_at", "expires_at", "partial_key_hint", "workspace_id",
        "created_by_id", "created_by_type", "principal_type", "principal_id", "scope_type", "scope_workspace_id",
    ),
    paths={
        "created_by_id": ("created_by.id",),
        "created_by_type": ("created_by.type",),
        "principal_type": ("principal.type",),
        "principal_id": ("principal.id", "principal.user_id", "principal.service_account_id"),
        "scope_type": ("scope.type",),
        "scope_workspace_id": ("scope.workspace_id",),
    },
    timestamps=("created_at", "expires_at"),
    known_values={
        "status": {"active", "inactive", "archived", "expired"},
        "created_by_type": {"user", "service_account"},
        "principal_type": {"user", "service_account"},
        "scope_type": {"workspace", "organization"},
    },
    aliases={"principal_type": {"user_actor": "user", "service_account_actor": "service_account"}},
)

_LIST_ENVELOPE = {"has_more": None, "first_id": None, "last_id": None}


def decode_users_page(body: bytes) -> ListPage:
    """`GET /v1/organizations/users` -> rows of raw.users."""
    return _decode_list_page(body, USERS)


def decode_invites_page(body: bytes) -> ListPage:
    """`GET /v1/organizations/invites` -> rows of raw.invites."""
    return _decode_list_page(body, INVITES)


def decode_workspaces_page(body: bytes) -> ListPage:
    """`GET /v1/organizations/workspaces` -> rows of raw.workspaces."""
    return _decode_list_page(body, WORKSPACES)


def decode_workspace_members_page(body: bytes) -> ListPage:
    """`GET /v1/organizations/workspaces/{id}/members` -> rows of raw.workspace_members."""
    return _decode_list_page(body, WORKSPACE_MEMBERS)


def decode_api_keys_page(body: bytes) -> ListPage:
    """`GET /v1/organizations/api_keys` -> rows of raw.api_keys (either key shape)."""
    return _decode_list_page(body, API_KEYS)


def decode_organization(body: bytes) -> pl.DataFrame:
    """`GET /v1/organizations/me` -> the one row of raw.organization.

    There is no page to carry drift, so unknown fields are logged here (and kept in extras).
    """
    organization = as_object(parse_json(body), "organization")
    frame, drift = _frame(ORGANIZATION, [organization], organization, ORGANIZATION.shape, "")
    for warning in drift.warnings():
        logger.warning("organization: %s", warning)
    return frame


def _decode_list_page(body: bytes, entity: Entity) -> ListPage:
    page = as_object(parse_json(body), "page")
    objects = [as_object(item, f"object {index}") for index, item in enumerate(list_field(page, "data", "page"))]
    has_more = has_more_value(page.get("has_more"))
    first_id, last_id = optional_string(page, "first_id", "page"), optional_string(page, "last_id", "page")
    frame, drift = _frame(entity, objects, page, _LIST_ENVELOPE | {"data": entity.shape}, "data[].")
    return ListPage(frame, has_more, first_id, last_id, drift)


def _frame(
    entity: Entity, objects: list[dict[str, Any]], page: Any, page_shape: Shape, row_path: str
) -> tuple[pl.DataFrame, SchemaDrift]:
    """The typed rows of `objects`, and the page's drift (fields, then enum values)."""
    documented = [row_path + name for name in entity.documented]
    drift, extras = drift_and_extras(page, page_shape, objects, entity.shape, documented)
    rows = [
        entity.row(api_object, f"object {index}") | {"extras": extra}
        for index, (api_object, extra) in enumerate(zip(objects, extras))
    ]
    frame = pl.DataFrame(rows, schema=dict.fromkeys((*entity.columns, "extras"), pl.String))
    frame = parse_timestamps(frame, *entity.timestamps)
    require_values(frame, entity.required, "object")
    return frame, drift + enum_drift(frame, entity.known_values)


def _first_value(api_object: dict[str, Any], paths: tuple[str, ...]) -> Any:
    """The first non-null value among dotted paths; a missing or null parent reads as null."""
    for path in paths:
        value: Any = api_object
        for key in path.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if value is not None:
            return value
    return None
