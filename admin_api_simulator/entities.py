"""The synthetic organization's cast: workspaces, users, invites, members, service accounts, API
keys, and who sends Messages traffic from where.

The cast (names, roles, dates) is fixed so tests can reason about it; the seed decides the IDs and
the organization's name. Each entity knows how to render itself as the Admin API's JSON object.

API keys come in both shapes the API has served: the older one (top-level
``workspace_id``, null for the default workspace, and ``created_by``) and the newer one that adds
``principal`` and ``scope`` (with the default workspace's real ID); ``workspace_id`` stays in the
newer shape as the deprecated field.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from .timeutil import rfc3339

_ID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ORG_NAMES = ("Acme Robotics", "Globex Analytics", "Initech Labs", "Umbrella Biotech", "Hooli Cloud")


def _at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


@dataclass(frozen=True)
class Workspace:
    id: str
    name: str
    display_color: str
    created_at: datetime
    archived_at: datetime | None
    default_inference_geo: str
    allowed_inference_geos: tuple[str, ...] | None  # None = "unrestricted"
    tags: dict[str, str]
    is_default: bool = False

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "workspace",
            "name": self.name,
            "display_color": self.display_color,
            "created_at": rfc3339(self.created_at),
            "archived_at": rfc3339(self.archived_at) if self.archived_at else None,
            "data_residency": {
                "workspace_geo": "us",
                "allowed_inference_geos": (
                    list(self.allowed_inference_geos) if self.allowed_inference_geos else "unrestricted"
                ),
                "default_inference_geo": self.default_inference_geo,
            },
            "tags": dict(self.tags),
        }


@dataclass(frozen=True)
class User:
    id: str
    email: str
    name: str | None
    role: str
    added_at: datetime

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "user",
            "email": self.email,
            "name": self.name,
            "role": self.role,
            "added_at": rfc3339(self.added_at),
        }


@dataclass(frozen=True)
class Invite:
    id: str
    email: str
    role: str
    status: str
    invited_at: datetime
    expires_at: datetime
    accepted_at: datetime | None

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "invite",
            "email": self.email,
            "role": self.role,
            "status": self.status,
            "invited_at": rfc3339(self.invited_at),
            "expires_at": rfc3339(self.expires_at),
            "accepted_at": rfc3339(self.accepted_at) if self.accepted_at else None,
        }


@dataclass(frozen=True)
class Member:
    workspace_id: str
    user_id: str
    workspace_role: str

    def to_api(self) -> dict[str, Any]:
        return {
            "type": "workspace_member",
            "user_id": self.user_id,
            "workspace_id": self.workspace_id,
            "workspace_role": self.workspace_role,
        }


@dataclass(frozen=True)
class ServiceAccount:
    id: str
    name: str


@dataclass(frozen=True)
class Principal:
    """Who a key acts as: a user ("user") or a service account ("service_account")."""

    type: str
    id: str


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    workspace_id: str  # the real ID, also for the default workspace
    created_at: datetime
    created_by: Principal | None
    status: str
    expires_at: datetime | None
    partial_key_hint: str | None
    new_shape: bool
    organization_scoped: bool = False
    listed: bool = True  # False for a deleted key that only survives in usage data
    used_until: datetime | None = None  # when its traffic stopped (archived, expired, deleted)
    former_name: str | None = None  # the name before ``renamed_at``
    renamed_at: date | None = None

    def name_on(self, day: date) -> str:
        """The key's name as it was on that day (Claude Code reports name keys, not IDs)."""
        if self.former_name and self.renamed_at and day < self.renamed_at:
            return self.former_name
        return self.name

    def to_api(self, default_workspace_id: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "type": "api_key",
            "name": self.name,
            "created_at": rfc3339(self.created_at),
            "created_by": {"id": self.created_by.id, "type": self.created_by.type} if self.created_by else None,
            "expires_at": rfc3339(self.expires_at) if self.expires_at else None,
            "partial_key_hint": self.partial_key_hint,
            "status": self.status,
            "workspace_id": None if self.workspace_id == default_workspace_id else self.workspace_id,
        }
        if self.new_shape:
            body["principal"] = _principal_to_api(self.created_by)
            body["scope"] = (
                {"type": "organization"}
                if self.organization_scoped
                else {"type": "workspace", "workspace_id": self.workspace_id}
            )
        return body


def _principal_to_api(principal: Principal | None) -> dict[str, str] | None:
    if principal is None:
        return None
    if principal.type == "user":
        return {"type": "user_actor", "user_id": principal.id}
    return {"type": "service_account_actor", "service_account_id": principal.id}


@dataclass(frozen=True)
class TrafficSource:
    """One way Messages traffic reaches the API, with the usage-report dimensions it carries.

    API-key traffic has ``api_key_id``; OAuth traffic ``account_id``; workload-identity traffic
    ``service_account_id``; Console/Workbench traffic none of them.
    """

    workspace_id: str
    api_key_id: str | None
    account_id: str | None
    service_account_id: str | None
    active_from: date
    active_until: date | None  # exclusive


@dataclass(frozen=True)
class Cast:
    organization_id: str
    organization_name: str
    workspaces: tuple[Workspace, ...]
    users: tuple[User, ...]
    invites: tuple[Invite, ...]
    members: tuple[Member, ...]
    api_keys: tuple[ApiKey, ...]
    traffic_sources: tuple[TrafficSource, ...]
    claude_code_users: tuple[tuple[User, str], ...]  # (user, the email as Claude Code reports it)
    claude_code_keys: tuple[ApiKey, ...]

    @property
    def default_workspace(self) -> Workspace:
        return next(w for w in self.workspaces if w.is_default)


class _IdMaker:
    def __init__(self, rng: random.Random):
        self._rng = rng

    def __call__(self, prefix: str) -> str:
        return prefix + "01" + "".join(self._rng.choice(_ID_ALPHABET) for _ in range(22))


def build_cast(seed: int) -> Cast:
    """The organization for a seed: same seed, same IDs, byte for byte."""
    rng = random.Random(f"{seed}:cast")
    new_id = _IdMaker(rng)
    organization_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    organization_name = rng.choice(_ORG_NAMES)
    domain = organization_name.split()[0].lower() + ".example"

    def workspace(name: str, color: str, created: str, archived: str | None = None, **details: Any) -> Workspace:
        details.setdefault("default_inference_geo", "global")
        details.setdefault("allowed_inference_geos", None)
        details.setdefault("tags", {})
        return Workspace(new_id("wrkspc_"), name, color, _at(created), _at(archived) if archived else None, **details)

    default = workspace("Default Workspace", "#6C5BB9", "2024-05-01", is_default=True)
    production = workspace("Production", "#2E7D32", "2024-05-20", tags={"env": "prod"})
    research = workspace("Research", "#1565C0", "2024-09-02", tags={"team": "research"})
    legacy = workspace("Legacy Prototypes", "#8D6E63", "2024-06-01", archived="2025-10-31")
    data_platform = workspace("Data Platform", "#F9A825", "2025-04-01", tags={"cost-center": "cc-42"})
    us_only = workspace("US Regulated", "#C62828", "2026-02-10", default_inference_geo="us",
                        allowed_inference_geos=("us",), tags={"compliance": "hipaa"})
    workspaces = (default, production, research, legacy, data_platform, us_only)

    def user(local: str, name: str | None, role: str, added: str) -> User:
        return User(new_id("user_"), f"{local}@{domain}", name, role, _at(added))

    ada = user("ada.okafor", "Ada Okafor", "admin", "2024-05-02")
    ben = user("ben.carter", "Ben Carter", "developer", "2024-06-11")
    priya = user("priya.natarajan", "Priya Natarajan", "developer", "2024-08-19")
    ops = user("ops-automation", None, "developer", "2024-09-03")
    tom = user("tom.becker", "Tom Becker", "billing", "2024-07-22")
    chen = user("chen.wei", "Chen Wei", "developer", "2025-01-15")
    maria = user("maria.lopez", "María López", "claude_code_user", "2025-03-10")
    jdoe = user("j.doe", None, "user", "2025-06-30")
    sofia = user("sofia.rossi", "Sofia Rossi", "developer", "2025-09-01")
    kwame = user("kwame.mensah", "Kwame Mensah", "claude_code_user", "2026-01-12")
    lena = user("lena.schmidt", "Lena Schmidt", "user", "2026-04-20")
    ravi = user("ravi.shah", "Ravi Shah", "developer", "2026-07-07")
    users = (ada, ben, priya, ops, tom, chen, maria, jdoe, sofia, kwame, lena, ravi)

    def invite(email: str, role: str, status: str, invited: str, accepted: str | None = None) -> Invite:
        invited_at = _at(invited)
        return Invite(new_id("invite_"), email, role, status, invited_at, invited_at + timedelta(days=21),
                      _at(accepted) if accepted else None)

    invites = (
        invite(ravi.email, "developer", "accepted", "2026-07-01", accepted="2026-07-07"),
        invite(lena.email, "user", "accepted", "2026-04-15", accepted="2026-04-20"),
        invite(f"contractor.temp@{domain}", "developer", "expired", "2026-01-05"),
        invite(f"new.hire@{domain}", "developer", "pending", "2026-11-10"),
        invite(f"analyst@{domain}", "user", "pending", "2026-11-15"),
    )

    rosters = (
        (production, ((ada, "workspace_admin"), (ben, "workspace_developer"), (sofia, "workspace_developer"),
                      (tom, "workspace_billing"))),
        (research, ((priya, "workspace_admin"), (chen, "workspace_developer"), (ben, "workspace_user"),
                    (kwame, "workspace_restricted_developer"))),
        (legacy, ((ben, "workspace_admin"),)),
        (data_platform, ((chen, "workspace_admin"), (maria, "workspace_developer"), (lena, "workspace_user"))),
        (us_only, ((sofia, "workspace_admin"), (ravi, "workspace_developer"))),
    )
    members = tuple(Member(w.id, member.id, role) for w, roster in rosters for member, role in roster)

    ci_runner = ServiceAccount(new_id("svac_"), "ci-runner")
    etl = ServiceAccount(new_id("svac_"), "etl-federation")

    def key(name: str, workspace: Workspace, created: str, creator: User | ServiceAccount | None, **details: Any) -> ApiKey:
        created_by = None
        if isinstance(creator, User):
            created_by = Principal("user", creator.id)
        elif isinstance(creator, ServiceAccount):
            created_by = Principal("service_account", creator.id)
        head, tail = ("".join(rng.choice(_ID_ALPHABET) for _ in range(n)) for n in (3, 4))
        details.setdefault("partial_key_hint", f"sk-ant-api03-{head}...{tail}")
        details.setdefault("status", "active")
        details.setdefault("expires_at", None)
        return ApiKey(new_id("apikey_"), name, workspace.id, _at(created), created_by, **details)

    prod_backend = key("prod-backend", production, "2024-06-01", ben, new_shape=False)
    prod_batch = key("prod-batch", production, "2024-10-01", ci_runner, new_shape=True)
    notebooks = key("research-notebooks", research, "2024-09-10", priya, new_shape=True)
    scripts = key("default-scripts", default, "2024-05-03", ada, new_shape=False)
    console_export = key("console-export", default, "2024-05-05", None, new_shape=True)
    prototype = key("legacy-prototype", legacy, "2024-06-02", ben, new_shape=False,
                    status="archived", used_until=_at("2025-10-31"))
    data_pipeline = key("data-pipeline", data_platform, "2025-04-02", etl, new_shape=True)
    ci_pipeline = key("ci-pipeline", production, "2024-11-12", ci_runner, new_shape=False,
                      former_name="ci-bot", renamed_at=date(2026, 6, 1))
    us_api = key("us-regulated-api", us_only, "2026-02-11", sofia, new_shape=True)
    org_tool = key("org-admin-tool", default, "2025-02-01", ada, new_shape=True, organization_scoped=True)
    old_experiment = key("old-experiment", research, "2025-01-20", chen, new_shape=False,
                         status="inactive", partial_key_hint=None, used_until=_at("2025-12-01"))
    contractor = key("temp-contractor", research, "2026-01-06", chen, new_shape=True,
                     status="expired", expires_at=_at("2026-03-31"), used_until=_at("2026-03-31"))
    deleted = key("deleted-spike", production, "2025-03-01", ben, new_shape=False,
                  listed=False, used_until=_at("2025-09-01"))
    api_keys = (prod_backend, prod_batch, notebooks, scripts, console_export, prototype, data_pipeline,
                ci_pipeline, us_api, org_tool, old_experiment, contractor, deleted)

    def until(moment: datetime | None) -> date | None:
        return moment.date() if moment else None

    traffic_sources = tuple(
        TrafficSource(k.workspace_id, k.id, None, None, k.created_at.date(), until(k.used_until)) for k in api_keys
    ) + (
        TrafficSource(default.id, None, ada.id, None, ada.added_at.date(), None),
        TrafficSource(research.id, None, priya.id, None, priya.added_at.date(), None),
        TrafficSource(research.id, None, kwame.id, None, kwame.added_at.date(), None),
        TrafficSource(production.id, None, None, ci_runner.id, date(2025, 6, 1), None),
        TrafficSource(data_platform.id, None, None, etl.id, date(2025, 6, 1), None),
        TrafficSource(default.id, None, None, None, default.created_at.date(), None),
        TrafficSource(research.id, None, None, None, research.created_at.date(), None),
        TrafficSource(legacy.id, None, None, None, legacy.created_at.date(), until(legacy.archived_at)),
    )

    # Claude Code reports the email as the user typed it at login, so some differ in case.
    claude_code_users = (
        (ben, ben.email),
        (priya, "Priya.Natarajan@" + domain),
        (chen, chen.email),
        (maria, "Maria.Lopez@" + domain.upper()),
        (sofia, sofia.email),
        (kwame, kwame.email),
        (ravi, "Ravi.Shah@" + domain),
    )
    claude_code_keys = (ci_pipeline, data_pipeline)

    return Cast(
        organization_id=organization_id,
        organization_name=organization_name,
        workspaces=workspaces,
        users=users,
        invites=invites,
        members=members,
        api_keys=api_keys,
        traffic_sources=traffic_sources,
        claude_code_users=claude_code_users,
        claude_code_keys=claude_code_keys,
    )
