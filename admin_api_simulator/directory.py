"""The entity endpoints: organization, users, invites, workspaces, members, API keys.

Choices where the API's documentation is silent: lists are ordered newest first (members in roster
order); an ``after_id``/``before_id`` that is not in the list is a 400; the ``email`` filter on
users is an exact, case-insensitive match; the default workspace is listed only with
``include_default=true`` (first, as the oldest) and has no readable members endpoint (404);
``/service_accounts`` refuses Admin API keys with 403, as the real endpoint does.
"""

from __future__ import annotations

from typing import Any

from .org import SyntheticOrg
from .params import ApiError, Query, Request, invalid, not_found

_LIST_PARAMS = ("limit", "after_id", "before_id")
API_KEY_STATUSES = ("active", "inactive", "archived", "expired")


def paginate(items: list[dict[str, Any]], query: Query, id_field: str = "id") -> dict[str, Any]:
    """A page of a list endpoint: ``limit`` items after ``after_id`` or before ``before_id``."""
    limit = query.integer("limit", 20, 1, 1000)
    after_id, before_id = query.text("after_id"), query.text("before_id")
    if after_id and before_id:
        raise invalid("after_id and before_id cannot be used together")
    ids = [item[id_field] for item in items]
    for name, cursor in (("after_id", after_id), ("before_id", before_id)):
        if cursor is not None and cursor not in ids:
            raise invalid(f"{name}: {cursor!r} is not in this list")
    if before_id is not None:
        end = ids.index(before_id)
        start = max(0, end - limit)
        page, has_more = items[start:end], start > 0
    else:
        start = ids.index(after_id) + 1 if after_id is not None else 0
        page, has_more = items[start:start + limit], start + limit < len(items)
    return {
        "data": page,
        "first_id": page[0][id_field] if page else None,
        "last_id": page[-1][id_field] if page else None,
        "has_more": has_more,
    }


def me(org: SyntheticOrg, request: Request) -> dict[str, Any]:
    request.query(())
    return {"id": org.organization_id, "type": "organization", "name": org.cast.organization_name}


def list_users(org: SyntheticOrg, request: Request) -> dict[str, Any]:
    query = request.query(_LIST_PARAMS + ("email",))
    email = query.text("email")
    users = sorted(org.cast.users, key=lambda u: u.added_at, reverse=True)
    if email is not None:
        users = [u for u in users if u.email.lower() == email.lower()]
    return paginate([u.to_api() for u in users], query)


def get_user(org: SyntheticOrg, request: Request) -> dict[str, Any]:
    request.query(())
    return _one("user", request.path_args["user_id"], {u.id: u.to_api() for u in org.cast.users})


def list_invites(org: SyntheticOrg, request: Request) -> dict[str, Any]:
    query = request.query(_LIST_PARAMS)
    invites = sorted(org.cast.invites, key=lambda i: i.invited_at, reverse=True)
    return paginate([i.to_api() for i in invites], query)


def get_invite(org: SyntheticOrg, request: Request) -> dict[str, Any]:
    request.query(())
    return _one("invite", request.path_args["invite_id"], {i.id: i.to_api() for i in org.cast.invites})


def list_workspaces(org: SyntheticOrg, request: Request) -> dict[str, Any]:
    query = request.query(_LIST_PARAMS + ("include_archived", "include_default"))
    include_archived = query.boolean("include_archived", False)
    include_default = query.boolean("include_default", False)
    workspaces = sorted(
        (w for w in org.cast.workspaces
         if (include_default or not w.is_default) and (include_archived or w.archived_at is None)),
        key=lambda w: w.created_at,
        reverse=True,
    )
    return paginate([w.to_api() for w in workspaces], query)


def get_workspace(org: SyntheticOrg, request: Request) -> dict[str, Any]:
    request.query(())
    return _one("workspace", request.path_args["workspace_id"], _listed_workspaces(org))


def list_members(org: SyntheticOrg, request: Request) -> dict[str, Any]:
    query = request.query(_LIST_PARAMS)
    workspace_id = request.path_args["workspace_id"]
    _one("workspace", workspace_id, _listed_workspaces(org))
    members = [m.to_api() for m in org.cast.members if m.workspace_id == workspace_id]
    return paginate(members, query, id_field="user_id")


def list_api_keys(org: SyntheticOrg, request: Request) -> dict[str, Any]:
    query = request.query(_LIST_PARAMS + ("status", "workspace_id", "created_by_user_id"))
    status = query.text("status")
    if status is not None and status not in API_KEY_STATUSES:
        raise invalid(f"status: input should be one of {', '.join(API_KEY_STATUSES)}; got {status!r}")
    workspace_id, creator_id = query.text("workspace_id"), query.text("created_by_user_id")
    keys = sorted((k for k in org.cast.api_keys if k.listed), key=lambda k: k.created_at, reverse=True)
    keys = [
        k for k in keys
        if (status is None or k.status == status)
        and (workspace_id is None or k.workspace_id == workspace_id)
        and (creator_id is None or (k.created_by is not None and k.created_by.type == "user" and k.created_by.id == creator_id))
    ]
    return paginate([k.to_api(org.default_workspace_id) for k in keys], query)


def get_api_key(org: SyntheticOrg, request: Request) -> dict[str, Any]:
    request.query(())
    keys = {k.id: k.to_api(org.default_workspace_id) for k in org.cast.api_keys if k.listed}
    return _one("API key", request.path_args["api_key_id"], keys)


def service_accounts(org: SyntheticOrg, request: Request) -> dict[str, Any]:
    raise ApiError(
        403,
        "permission_error",
        "Admin API keys cannot access service accounts; use an OAuth token with the org:admin scope.",
    )


def _listed_workspaces(org: SyntheticOrg) -> dict[str, dict[str, Any]]:
    return {w.id: w.to_api() for w in org.cast.workspaces if not w.is_default}


def _one(kind: str, object_id: str, objects: dict[str, dict[str, Any]]) -> dict[str, Any]:
    if object_id not in objects:
        raise not_found(f"{kind} {object_id!r} not found")
    return objects[object_id]
