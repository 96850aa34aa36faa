"""What a set of roles grants: each role's own permissions plus its ancestors', the built-in
`admin` role holding every permission but `threads:read:any` (agents' included)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from confide.access import repository
from confide.access.models import Role
from confide.access.permissions import ADMIN_ROLE, MAX_ROLE_DEPTH, PermissionRegistry
from confide.errors import Conflict


class RoleCycle(Conflict):
    code = "role_cycle"
    title = "A role cannot inherit from itself, directly or through its parents"


class RoleTooDeep(Conflict):
    code = "role_too_deep"
    title = f"A role may have at most {MAX_ROLE_DEPTH - 1} ancestors"


@dataclass(frozen=True, slots=True)
class RoleGraph:
    """Every role, by id, with its own grants: read once, then asked as often as needed."""

    roles: Mapping[uuid.UUID, Role]
    own: Mapping[uuid.UUID, set[str]]
    registry: PermissionRegistry

    @classmethod
    async def load(cls, db: AsyncSession, registry: PermissionRegistry) -> RoleGraph:
        roles = {role.id: role for role in await repository.all_roles(db)}
        return cls(roles=roles, own=await repository.grants(db), registry=registry)

    def by_name(self, name: str) -> Role | None:
        return next((role for role in self.roles.values() if role.name == name), None)

    def chain(self, role_id: uuid.UUID) -> list[Role]:
        """The role, then its parent, and so on up (cut at MAX_ROLE_DEPTH, and at a cycle,
        which the rules never let in)."""
        out: list[Role] = []
        seen: set[uuid.UUID] = set()
        current = self.roles.get(role_id)
        while current is not None and current.id not in seen and len(out) < MAX_ROLE_DEPTH:
            out.append(current)
            seen.add(current.id)
            current = self.roles.get(current.parent_id) if current.parent_id else None
        return out

    def effective(self, role_ids: Iterable[uuid.UUID]) -> frozenset[str]:
        """Every permission these roles grant, inherited ones included."""
        granted: set[str] = set()
        for role_id in role_ids:
            for role in self.chain(role_id):
                if role.builtin and role.name == ADMIN_ROLE:
                    granted |= self.registry.admin
                granted |= self.own.get(role.id, set())
        return frozenset(granted)

    def check_parent(self, role_id: uuid.UUID | None, parent_id: uuid.UUID | None) -> None:
        """Refuse a parent that would make a cycle, or a chain deeper than MAX_ROLE_DEPTH.
        `role_id` None: a role being created."""
        if parent_id is None:
            return
        depth = 1
        current = self.roles.get(parent_id)
        seen: set[uuid.UUID] = set()
        while current is not None:
            if current.id == role_id or current.id in seen:
                raise RoleCycle
            seen.add(current.id)
            depth += 1
            current = self.roles.get(current.parent_id) if current.parent_id else None
        below = self._depth_below(role_id) if role_id is not None else 0
        if depth + below > MAX_ROLE_DEPTH:
            raise RoleTooDeep

    def _depth_below(self, role_id: uuid.UUID) -> int:
        """How many generations of roles inherit from this one (0: none)."""
        children = [r for r in self.roles.values() if r.parent_id == role_id]
        if not children:
            return 0
        return 1 + max(self._depth_below(child.id) for child in children)

    def descendants(self, role_id: uuid.UUID) -> set[uuid.UUID]:
        """The role and every role inheriting from it."""
        out = {role_id}
        frontier = [role_id]
        while frontier:
            parent = frontier.pop()
            for role in self.roles.values():
                if role.parent_id == parent and role.id not in out:
                    out.add(role.id)
                    frontier.append(role.id)
        return out
