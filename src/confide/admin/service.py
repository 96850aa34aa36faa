"""Administering accounts and roles. Raises domain errors; never commits (the request does).

Every change of access is made under `lock_access` (repository.py), checked against the
anti-escalation rules (docs/security.md), recorded in the audit trail in the same
transaction, and made to stop working on the affected users' next request on every process
by invalidating their cached sessions before the commit (auth/cache.py says why before).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncSession

from confide.access import repository as access_repository
from confide.access.models import Role
from confide.access.permissions import ADMIN_ROLE, ADMIN_ROLE_ID, PermissionRegistry
from confide.access.roles import RoleGraph
from confide.account.service import AccountService
from confide.admin import repository
from confide.admin.errors import (
    BuiltinRole,
    LastAdmin,
    OwnRoles,
    PermissionNotHeld,
    RoleExceedsCaller,
    RoleExists,
    RoleInUse,
    RoleNotFound,
    UnknownPermission,
    UnknownRole,
    UserNotFound,
    UserOutranksCaller,
)
from confide.admin.schemas import AdminUserOut, RoleCreate, RoleOut, RolePatch, UserStatus
from confide.audit.service import DENIED, SUCCESS, Origin, record
from confide.auth import repository as auth_repository
from confide.auth.cache import Principal
from confide.auth.models import User
from confide.auth.service import AccountDisabled, AuthContext
from confide.db.base import utcnow
from confide.errors import ConfideError

# A change affecting more users than this fences every session at once (one short message,
# every request checking the database for a moment) rather than naming each user.
INVALIDATE_ALL_ABOVE = 1000


def user_out(user: User, roles: list[str], last_sign_in_at: datetime | None) -> AdminUserOut:
    return AdminUserOut(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        status=cast(UserStatus, user.status),
        roles=roles,
        created_at=user.created_at,
        last_sign_in_at=last_sign_in_at,
    )


def role_out(graph: RoleGraph, role: Role) -> RoleOut:
    parent = graph.roles.get(role.parent_id) if role.parent_id else None
    return RoleOut(
        name=role.name,
        parent=parent.name if parent else None,
        description=role.description,
        builtin=role.builtin,
        mfa_required=role.mfa_required,
        permissions=sorted(graph.own.get(role.id, set())),
        effective_permissions=sorted(graph.effective([role.id])),
        created_at=role.created_at,
        updated_at=role.updated_at,
    )


class AdminService:
    def __init__(self, db: AsyncSession, ctx: AuthContext, *, origin: Origin) -> None:
        self.db = db
        self.ctx = ctx
        self.origin = origin

    @property
    def registry(self) -> PermissionRegistry:
        return self.ctx.permissions

    # Users -------------------------------------------------------------------------------------

    async def list_users(
        self,
        *,
        q: str | None,
        role: str | None,
        status: str | None,
        sort: str,
        after: tuple[Any, uuid.UUID] | None,
        limit: int,
    ) -> list[tuple[User, AdminUserOut]]:
        """One page of accounts (each with the row it came from, for the next cursor)."""
        rows = await repository.users_page(
            self.db, q=q, role=role, status=status, sort=sort, after=after, limit=limit
        )
        names = await access_repository.users_role_names(self.db, [u.id for u, _ in rows])
        return [(user, user_out(user, names[user.id], last)) for user, last in rows]

    async def get_user(self, user_id: uuid.UUID) -> AdminUserOut:
        """One account; UserNotFound when there is none."""
        found = await repository.user_with_last_sign_in(self.db, user_id)
        if found is None:
            raise UserNotFound
        user, last = found
        names = await access_repository.users_role_names(self.db, [user.id])
        return user_out(user, names[user.id], last)

    async def set_status(
        self, principal: Principal, user_id: uuid.UUID, status: str
    ) -> AdminUserOut:
        """Approve (`active`), disable or set back to pending an account. Disabling ends all
        of its sessions at once."""
        await repository.lock_access(self.db)
        user = await self._user(user_id)
        graph = await self._graph()
        role_ids = set(await access_repository.user_role_ids(self.db, user.id))
        await self._check_not_outranked(
            principal, graph.effective(role_ids), "user.status_changed", user.id
        )
        old = user.status
        if old != status:
            if old == "active" and ADMIN_ROLE_ID in role_ids:
                await self._keep_an_admin(user.id)
            user.status = status
            ended: list[uuid.UUID] = []
            if status == "disabled":
                ended = await auth_repository.end_sessions(
                    self.db, user_id=user.id, now=utcnow(), reason="account_disabled"
                )
            await self.db.flush()
            await self.ctx.cache.invalidate_user(user.id)
            await self._audit(
                principal,
                "user.status_changed",
                target_type="user",
                target_id=user.id,
                detail={"old": old, "new": status, "sessions_ended": len(ended)},
            )
        return await self.get_user(user.id)

    async def set_roles(
        self, principal: Principal, user_id: uuid.UUID, names: Collection[str]
    ) -> AdminUserOut:
        """Give an account exactly these roles (`user` included or not: an account without
        it holds only what its other roles grant)."""
        if user_id == principal.user_id:
            raise await self._refuse(principal, OwnRoles(), "user.roles_changed", ("user", user_id))
        await repository.lock_access(self.db)
        user = await self._user(user_id)
        graph = await self._graph()
        wanted = {name: graph.by_name(name) for name in names}
        unknown = [name for name, role in wanted.items() if role is None]
        if unknown:
            raise UnknownRole(unknown)
        new_ids = {role.id for role in wanted.values() if role is not None}
        old_ids = set(await access_repository.user_role_ids(self.db, user.id))
        await self._check_not_outranked(
            principal, graph.effective(old_ids), "user.roles_changed", user.id
        )
        changed = new_ids ^ old_ids
        missing = self._not_held(principal, graph.effective(changed))
        if missing:
            raise await self._refuse(
                principal,
                RoleExceedsCaller("These roles grant permissions you do not hold", missing),
                "user.roles_changed",
                ("user", user.id),
            )
        if not changed:
            return await self.get_user(user.id)
        if ADMIN_ROLE_ID in old_ids - new_ids and user.status == "active":
            await self._keep_an_admin(user.id)
        await access_repository.set_user_roles(self.db, user.id, new_ids)
        await self.ctx.cache.invalidate_user(user.id)
        await self._audit(
            principal,
            "user.roles_changed",
            target_type="user",
            target_id=user.id,
            detail={
                "old": sorted(graph.roles[r].name for r in old_ids if r in graph.roles),
                "new": sorted(names),
            },
        )
        return await self.get_user(user.id)

    async def end_sessions(self, principal: Principal, user_id: uuid.UUID) -> None:
        """End every session of an account, on every process at once."""
        user = await self._user(user_id)
        graph = await self._graph()
        role_ids = await access_repository.user_role_ids(self.db, user.id)
        await self._check_not_outranked(
            principal, graph.effective(role_ids), "user.sessions_ended", user.id
        )
        ended = await auth_repository.end_sessions(
            self.db, user_id=user.id, now=utcnow(), reason="ended_by_admin"
        )
        await self.ctx.cache.invalidate_user(user.id)
        await self._audit(
            principal,
            "user.sessions_ended",
            target_type="user",
            target_id=user.id,
            detail={"sessions_ended": len(ended)},
        )

    async def send_password_link(
        self, principal: Principal, user_id: uuid.UUID, links: AccountService, *, base_url: str
    ) -> str:
        """Mail an account a link to set a new password (7 days; older links stop working).
        The admin never sees the link, and the password stays the account's until it is used.
        Not for a disabled account (a link would not re-enable it). The address it went to."""
        user = await self._user(user_id)
        graph = await self._graph()
        role_ids = await access_repository.user_role_ids(self.db, user.id)
        await self._check_not_outranked(
            principal, graph.effective(role_ids), "user.password_link_sent", user.id
        )
        if user.status == "disabled":
            raise AccountDisabled("Enable the account first.")
        await links.send_set_password(user, base_url=base_url)
        await self._audit(
            principal,
            "user.password_link_sent",
            target_type="user",
            target_id=user.id,
            detail={"purpose": "set_password"},
        )
        return user.email

    # Roles -------------------------------------------------------------------------------------

    async def list_roles(self) -> list[RoleOut]:
        """Every role, by name."""
        graph = await self._graph()
        return [role_out(graph, role) for role in sorted(graph.roles.values(), key=_name)]

    async def get_role(self, name: str) -> RoleOut:
        graph = await self._graph()
        return role_out(graph, self._role(graph, name))

    async def create_role(self, principal: Principal, body: RoleCreate) -> RoleOut:
        """A custom role; it may grant only what the caller holds, its parent's grants
        included."""
        await repository.lock_access(self.db)
        graph = await self._graph()
        if graph.by_name(body.name) is not None:
            raise RoleExists(f"A role named {body.name!r} exists.")
        parent_id = self._parent_id(graph, body.parent)
        unknown = self.registry.unknown(body.permissions)
        if unknown:
            raise UnknownPermission(unknown)
        graph.check_parent(None, parent_id)
        await self._check_grants(
            principal, graph, set(body.permissions), parent_id, "role.created", body.name
        )
        now = utcnow()
        role = Role(
            name=body.name,
            parent_id=parent_id,
            description=body.description,
            builtin=False,
            mfa_required=body.mfa_required,
            created_at=now,
            updated_at=now,
        )
        self.db.add(role)
        await self.db.flush()
        await access_repository.set_role_grants(self.db, role.id, body.permissions)
        await self._audit(
            principal,
            "role.created",
            target_type="role",
            target_id=role.name,
            detail={"permissions": body.permissions, "parent": body.parent},
        )
        return await self.get_role(role.name)

    async def update_role(self, principal: Principal, name: str, patch: RolePatch) -> RoleOut:
        """Rename a role, set its parent, grants or description. `admin` cannot be edited;
        `user` cannot be renamed or given a parent (its grants and description may change)."""
        await repository.lock_access(self.db)
        graph = await self._graph()
        role = self._role(graph, name)
        sent = patch.model_fields_set
        # Requiring MFA of administrators is the one change the admin role takes.
        if role.builtin and role.name == ADMIN_ROLE and sent - {"mfa_required"}:
            raise BuiltinRole("The admin role holds every permission and cannot be edited.")
        await self._check_role_held(principal, graph, role, "role.updated")
        detail: dict[str, Any] = {}

        new_name = patch.name if "name" in sent and patch.name is not None else role.name
        if new_name != role.name:
            if role.builtin:
                raise BuiltinRole(f"The built-in role {role.name!r} cannot be renamed.")
            if graph.by_name(new_name) is not None:
                raise RoleExists(f"A role named {new_name!r} exists.")
            detail["name"] = {"old": role.name, "new": new_name}

        parent_id = role.parent_id
        if "parent" in sent:
            parent_id = self._parent_id(graph, patch.parent)
            if parent_id != role.parent_id:
                if role.builtin:
                    raise BuiltinRole(f"The built-in role {role.name!r} keeps its parent.")
                graph.check_parent(role.id, parent_id)
                detail["parent"] = {"old": _role_name(graph, role.parent_id), "new": patch.parent}

        own = graph.own.get(role.id, set())
        grants = own
        if "permissions" in sent and patch.permissions is not None:
            grants = set(patch.permissions)
            # A grant the registry no longer knows (an agent removed from the file) may stay.
            unknown = self.registry.unknown(grants - own)
            if unknown:
                raise UnknownPermission(unknown)
            if grants != own:
                detail["permissions_added"] = sorted(grants - own)
                detail["permissions_removed"] = sorted(own - grants)
        await self._check_grants(principal, graph, grants, parent_id, "role.updated", role.name)

        if "description" in sent and patch.description is not None:
            if patch.description != role.description:
                detail["description_changed"] = True
            role.description = patch.description
        if "mfa_required" in sent and patch.mfa_required is not None:
            if patch.mfa_required != role.mfa_required:
                detail["mfa_required"] = patch.mfa_required
            role.mfa_required = patch.mfa_required
        if not detail:
            return role_out(graph, role)

        affected: set[uuid.UUID] = set()
        if "parent" in detail or "permissions_added" in detail or "mfa_required" in detail:
            affected = graph.descendants(role.id)
        elif "name" in detail:
            affected = {role.id}  # the holders' sessions name their roles
        role.name = new_name
        role.parent_id = parent_id
        role.updated_at = utcnow()
        if grants != own:
            await access_repository.set_role_grants(self.db, role.id, grants)
        await self.db.flush()
        await self._revoke(await access_repository.holders(self.db, affected))
        await self._audit(
            principal, "role.updated", target_type="role", target_id=new_name, detail=detail
        )
        return await self.get_role(new_name)

    async def delete_role(self, principal: Principal, name: str) -> None:
        """Delete a custom role no other role inherits from; its holders lose it at once."""
        await repository.lock_access(self.db)
        graph = await self._graph()
        role = self._role(graph, name)
        if role.builtin:
            raise BuiltinRole(f"The built-in role {role.name!r} cannot be deleted.")
        await self._check_role_held(principal, graph, role, "role.deleted")
        children = sorted(r.name for r in graph.roles.values() if r.parent_id == role.id)
        if children:
            raise RoleInUse(
                f"Roles inherit from {role.name!r}: {', '.join(children)}. Give them another "
                "parent first.",
                extra={"roles": children},
            )
        holders = await access_repository.holders(self.db, [role.id])
        await self.db.delete(role)  # its grants and holdings go with it (ON DELETE CASCADE)
        await self.db.flush()
        await self._revoke(holders)
        await self._audit(
            principal,
            "role.deleted",
            target_type="role",
            target_id=name,
            detail={"holders": len(holders)},
        )

    async def change_grant_from_shell(
        self, role_name: str, permission: str, *, grant: bool
    ) -> bool:
        """Grant or revoke one permission of a role from the shell (`confide roles ...`), the
        root of trust: no anti-escalation rule applies, so this is how `threads:read:any`,
        which no administrator holds, is given. Audited with actor `cli`. False: nothing
        changed."""
        await repository.lock_access(self.db)
        graph = await self._graph()
        role = self._role(graph, role_name)
        if role.builtin and role.name == ADMIN_ROLE:
            raise BuiltinRole(
                "The admin role's grants are fixed; grant the permission to a role of its own."
            )
        own = graph.own.get(role.id, set())
        if grant and permission not in self.registry:
            raise UnknownPermission([permission])
        grants = own | {permission} if grant else own - {permission}
        if grants == own:
            return False
        await access_repository.set_role_grants(self.db, role.id, grants)
        role.updated_at = utcnow()
        await self.db.flush()
        affected = await access_repository.holders(self.db, graph.descendants(role.id))
        await self._revoke(affected)
        await record(
            self.db,
            action="role.updated",
            actor="cli",
            target_type="role",
            target_id=role.name,
            origin=self.origin,
            detail={
                "permissions_added": sorted(grants - own),
                "permissions_removed": sorted(own - grants),
            },
        )
        return True

    # Helpers -----------------------------------------------------------------------------------

    async def _graph(self) -> RoleGraph:
        return await RoleGraph.load(self.db, self.registry)

    async def _user(self, user_id: uuid.UUID) -> User:
        user = await auth_repository.get_user(self.db, user_id)
        if user is None:
            raise UserNotFound
        return user

    def _role(self, graph: RoleGraph, name: str) -> Role:
        role = graph.by_name(name)
        if role is None:
            raise RoleNotFound(f"No role named {name!r}.")
        return role

    def _parent_id(self, graph: RoleGraph, name: str | None) -> uuid.UUID | None:
        if name is None:
            return None
        parent = graph.by_name(name)
        if parent is None:
            raise UnknownRole([name])
        return parent.id

    def _not_held(self, principal: Principal, permissions: Iterable[str]) -> set[str]:
        """What of `permissions` the caller lacks; grants the registry no longer knows grant
        nothing, so they never count against anyone."""
        return {p for p in permissions if p in self.registry and p not in principal.permissions}

    async def _check_grants(
        self,
        principal: Principal,
        graph: RoleGraph,
        grants: set[str],
        parent_id: uuid.UUID | None,
        action: str,
        role_name: str,
    ) -> None:
        """What a role would grant, its parent's grants included, must all be the caller's."""
        inherited = graph.effective([parent_id]) if parent_id is not None else frozenset()
        missing = self._not_held(principal, grants | inherited)
        if missing:
            error = PermissionNotHeld("The role would grant permissions you do not hold", missing)
            raise await self._refuse(principal, error, action, ("role", role_name))

    async def _check_role_held(
        self, principal: Principal, graph: RoleGraph, role: Role, action: str
    ) -> None:
        """Editing or deleting a role needs every permission it grants now."""
        missing = self._not_held(principal, graph.effective([role.id]))
        if missing:
            error = RoleExceedsCaller("This role grants permissions you do not hold", missing)
            raise await self._refuse(principal, error, action, ("role", role.name))

    async def _check_not_outranked(
        self, principal: Principal, target: Iterable[str], action: str, user_id: uuid.UUID
    ) -> None:
        """Acting on an account needs every permission its roles grant."""
        missing = self._not_held(principal, target)
        if missing:
            error = UserOutranksCaller(
                "The account's roles grant permissions you do not hold", missing
            )
            raise await self._refuse(principal, error, action, ("user", user_id))

    async def _refuse(
        self,
        principal: Principal,
        error: ConfideError,
        action: str,
        target: tuple[str, uuid.UUID | str],
    ) -> ConfideError:
        """Record a refused change (outcome `denied`) and have the request keep that row:
        its transaction is committed although it fails, and nothing was changed before a
        refusal."""
        await self._audit(
            principal,
            action,
            target_type=target[0],
            target_id=target[1],
            detail={"code": error.code, **error.extra},
            outcome=DENIED,
        )
        error.keep_changes = True
        return error

    async def _keep_an_admin(self, user_id: uuid.UUID) -> None:
        """Refuse a change that would leave no active administrator (read under the lock)."""
        if not set(await repository.active_admins(self.db)) - {user_id}:
            raise LastAdmin

    async def _revoke(self, user_ids: Collection[uuid.UUID]) -> None:
        if len(user_ids) > INVALIDATE_ALL_ABOVE:
            await self.ctx.cache.invalidate_all()
        elif user_ids:
            await self.ctx.cache.invalidate_users(user_ids)

    async def _audit(
        self,
        principal: Principal,
        action: str,
        *,
        target_type: str,
        target_id: uuid.UUID | str,
        detail: dict[str, Any],
        outcome: str = SUCCESS,
    ) -> None:
        await record(
            self.db,
            action=action,
            outcome=outcome,
            actor_id=principal.user_id,
            actor=principal.email,
            target_type=target_type,
            target_id=target_id,
            origin=self.origin,
            detail=detail,
        )


def _name(role: Role) -> str:
    return role.name


def _role_name(graph: RoleGraph, role_id: uuid.UUID | None) -> str | None:
    role = graph.roles.get(role_id) if role_id is not None else None
    return role.name if role else None
