"""Every permission Confide knows, with the line of text `GET /api/admin/permissions` shows.

A permission is a plain string. Besides the fixed ones below, `agents:use:<agent id>` exists
for each configured agent, and `agents:use:*` stands for every agent that is not restricted
(an agent file's `admin_only: true` restricts it: only roles granted `agents:use:<its id>`
may use it)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

THREADS_READ = "threads:read"
THREADS_WRITE = "threads:write"
THREADS_SHARE = "threads:share"
THREADS_READ_ANY = "threads:read:any"
AGENTS_USE_ANY = "agents:use:*"
AGENTS_USE_PREFIX = "agents:use:"
USERS_READ = "users:read"
USERS_MANAGE = "users:manage"
ROLES_MANAGE = "roles:manage"
INVITES_MANAGE = "invites:manage"
AUDIT_READ = "audit:read"
RUNS_DIAGNOSE = "runs:diagnose"
IP_RULES_MANAGE = "admin:ip_rules"
MCP_READ = "admin:mcp"

PERMISSIONS: dict[str, str] = {
    THREADS_READ: "Read your own threads, their messages and their runs.",
    THREADS_WRITE: "Start, rename and delete your own threads; send messages; cancel runs.",
    THREADS_SHARE: "Share your own threads, read-only, with other users.",
    THREADS_READ_ANY: "Read any user's threads (every such read is audited). "
    "Granted to no built-in role.",
    AGENTS_USE_ANY: "Use every agent that is not restricted to the roles granted it.",
    USERS_READ: "List and view user accounts.",
    USERS_MANAGE: "Approve, disable and enable users, set their roles, end their sessions.",
    ROLES_MANAGE: "Create, edit and delete roles.",
    INVITES_MANAGE: "Create, list and revoke invitations.",
    AUDIT_READ: "Read the audit trail.",
    RUNS_DIAGNOSE: "See what a failing model endpoint answered (a run's error_detail).",
    IP_RULES_MANAGE: "List, add and delete the allow and block rules of client IP addresses.",
    MCP_READ: "See the MCP servers: their state, last error and tools.",
}

# The built-in roles. `admin` holds every permission but `threads:read:any`, every agent's
# included, always (it cannot be edited); `user`'s grants are stored and may be edited.
USER_ROLE = "user"
ADMIN_ROLE = "admin"
# Their ids, as migration 0006 made them.
USER_ROLE_ID = uuid.UUID("00000000-0000-4000-8000-000000000001")
ADMIN_ROLE_ID = uuid.UUID("00000000-0000-4000-8000-000000000002")
BUILTIN_ROLES = (USER_ROLE, ADMIN_ROLE)
USER_DEFAULTS = (THREADS_READ, THREADS_WRITE, THREADS_SHARE, AGENTS_USE_ANY)
NOT_FOR_ADMIN = frozenset({THREADS_READ_ANY})
MAX_ROLE_DEPTH = 8  # a role and its ancestors, at most


def agent_permission(agent_id: str) -> str:
    return AGENTS_USE_PREFIX + agent_id


@dataclass(frozen=True, slots=True)
class PermissionInfo:
    name: str
    description: str


class PermissionRegistry:
    """The fixed permissions plus one `agents:use:<id>` per configured agent."""

    def __init__(self, agent_ids: Iterable[str] = ()) -> None:
        self.agents: dict[str, str] = {}
        self.all: dict[str, str] = dict(PERMISSIONS)
        self.admin = frozenset(self.all) - NOT_FOR_ADMIN
        self.add_agents(agent_ids)

    def add_agents(self, agent_ids: Iterable[str]) -> None:
        """Known agents' `agents:use:<id>` (the configuration is read after the registry)."""
        for agent_id in agent_ids:
            self.agents[agent_permission(agent_id)] = f"Use the agent {agent_id!r}."
        self.all = {**PERMISSIONS, **self.agents}
        self.admin = frozenset(self.all) - NOT_FOR_ADMIN

    def __contains__(self, name: object) -> bool:
        return name in self.all

    def listing(self) -> list[PermissionInfo]:
        return [PermissionInfo(name, text) for name, text in self.all.items()]

    def unknown(self, names: Iterable[str]) -> list[str]:
        return sorted(name for name in names if name not in self.all)
