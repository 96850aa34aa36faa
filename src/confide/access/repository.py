"""Every query of the access feature: roles, their grants, who holds which."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from confide.access.models import Role, RolePermission, UserRole


async def all_roles(db: AsyncSession) -> Sequence[Role]:
    return (await db.execute(select(Role).order_by(Role.name))).scalars().all()


async def role_by_name(db: AsyncSession, name: str) -> Role | None:
    return (await db.execute(select(Role).where(Role.name == name))).scalar_one_or_none()


async def roles_by_name(db: AsyncSession, names: Iterable[str]) -> dict[str, Role]:
    wanted = list(set(names))
    if not wanted:
        return {}
    rows = (await db.execute(select(Role).where(Role.name.in_(wanted)))).scalars().all()
    return {role.name: role for role in rows}


async def grants(db: AsyncSession) -> dict[uuid.UUID, set[str]]:
    """Every role's own permissions (not inherited), by role id."""
    out: dict[uuid.UUID, set[str]] = {}
    for role_id, permission in await db.execute(
        select(RolePermission.role_id, RolePermission.permission)
    ):
        out.setdefault(role_id, set()).add(permission)
    return out


async def role_grants(db: AsyncSession, role_id: uuid.UUID) -> set[str]:
    rows = await db.execute(
        select(RolePermission.permission).where(RolePermission.role_id == role_id)
    )
    return set(rows.scalars())


async def set_role_grants(db: AsyncSession, role_id: uuid.UUID, permissions: Iterable[str]) -> None:
    await db.execute(delete(RolePermission).where(RolePermission.role_id == role_id))
    rows = [{"role_id": role_id, "permission": p} for p in sorted(set(permissions))]
    if rows:
        await db.execute(insert(RolePermission), rows)


async def user_role_ids(db: AsyncSession, user_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await db.execute(select(UserRole.role_id).where(UserRole.user_id == user_id))
    return list(rows.scalars())


async def users_role_names(
    db: AsyncSession, user_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[str]]:
    """The names of the roles each user holds, sorted."""
    ids = list(user_ids)
    out: dict[uuid.UUID, list[str]] = {user_id: [] for user_id in ids}
    if not ids:
        return out
    rows = await db.execute(
        select(UserRole.user_id, Role.name)
        .join(Role, Role.id == UserRole.role_id)
        .where(UserRole.user_id.in_(ids))
        .order_by(Role.name)
    )
    for user_id, name in rows:
        out[user_id].append(name)
    return out


async def set_user_roles(
    db: AsyncSession, user_id: uuid.UUID, role_ids: Iterable[uuid.UUID]
) -> None:
    await db.execute(delete(UserRole).where(UserRole.user_id == user_id))
    rows = [{"user_id": user_id, "role_id": role_id} for role_id in set(role_ids)]
    if rows:
        await db.execute(insert(UserRole), rows)


async def holders(db: AsyncSession, role_ids: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    """Every user holding one of these roles."""
    ids = list(role_ids)
    if not ids:
        return []
    rows = await db.execute(select(UserRole.user_id).where(UserRole.role_id.in_(ids)).distinct())
    return list(rows.scalars())
