"""Every query of the admin feature: accounts as administrators see them, the lock that
orders changes of access, and invitations."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVarTuple

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Select,
    and_,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from confide.access.models import Invite, InviteRole, Role, UserRole
from confide.access.permissions import ADMIN_ROLE_ID
from confide.auth.emails import email_key
from confide.auth.models import AuthSession, User
from confide.db.keyset import newest_first_page

Ts = TypeVarTuple("Ts")

# Users -----------------------------------------------------------------------------------------

LAST_SIGN_IN = (
    select(func.max(AuthSession.created_at))
    .where(AuthSession.user_id == User.id)
    .correlate(User)
    .scalar_subquery()
)


async def lock_access(db: AsyncSession | AsyncConnection) -> None:
    """Take the lock that orders every change of roles, grants and account status, as the
    transaction's first write: a no-op update of the `admin` role's row (a row lock on
    PostgreSQL; on SQLite the writer's turn, which a first write takes). What the
    transaction reads after it is what the changes before it committed, so two admins
    demoting each other cannot both pass the last-admin check, nor two role edits make a
    cycle together."""
    await db.execute(
        update(Role).where(Role.id == ADMIN_ROLE_ID).values(updated_at=Role.updated_at)
    )


async def user_with_last_sign_in(
    db: AsyncSession, user_id: uuid.UUID
) -> tuple[User, datetime | None] | None:
    row = (await db.execute(select(User, LAST_SIGN_IN).where(User.id == user_id))).one_or_none()
    return None if row is None else (row[0], row[1])


def _user_filters(
    stmt: Select[*Ts], *, q: str | None, role: str | None, status: str | None
) -> Select[*Ts]:
    if q:
        # The email's key is already folded (auth/emails.py); SQLite's lower() folds only
        # ASCII letters of a display name, PostgreSQL's every letter.
        stmt = stmt.where(
            or_(
                User.email_key.contains(email_key(q), autoescape=True),
                func.lower(User.display_name).contains(q.lower(), autoescape=True),
            )
        )
    if role:
        stmt = stmt.where(
            exists()
            .where(UserRole.user_id == User.id, UserRole.role_id == Role.id, Role.name == role)
            .correlate(User)
        )
    if status:
        stmt = stmt.where(User.status == status)
    return stmt


def _after(column: Any, value: Any, last_id: uuid.UUID, *, descending: bool) -> ColumnElement[bool]:
    if descending:
        return or_(column < value, and_(column == value, User.id < last_id))
    return or_(column > value, and_(column == value, User.id > last_id))


async def users_page(
    db: AsyncSession,
    *,
    q: str | None,
    role: str | None,
    status: str | None,
    sort: str,
    after: tuple[Any, uuid.UUID] | None,
    limit: int,
) -> Sequence[tuple[User, datetime | None]]:
    """One page of accounts, keyset on (the sort column, id). `sort`: `created_at` or
    `email` (the email's case-insensitive key), `-` first for descending."""
    descending = sort.startswith("-")
    column: Any = User.created_at if sort.lstrip("-") == "created_at" else User.email_key
    stmt = _user_filters(select(User, LAST_SIGN_IN), q=q, role=role, status=status)
    if after is not None:
        stmt = stmt.where(_after(column, after[0], after[1], descending=descending))
    if descending:
        stmt = stmt.order_by(column.desc(), User.id.desc())
    else:
        stmt = stmt.order_by(column.asc(), User.id.asc())
    rows = await db.execute(stmt.limit(limit))
    return [(user, last) for user, last in rows]


async def active_admins(db: AsyncSession | AsyncConnection) -> list[uuid.UUID]:
    """The active accounts holding the `admin` role."""
    rows = await db.execute(
        select(User.id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role_id == ADMIN_ROLE_ID, User.status == "active")
    )
    return list(rows.scalars())


# Invites ---------------------------------------------------------------------------------------


def invite_status_filter(status: str, now: datetime) -> ColumnElement[bool]:
    """Rows with this status; the order of precedence is revoked, used, expired, pending."""
    if status == "revoked":
        return Invite.revoked_at.is_not(None)
    live = Invite.revoked_at.is_(None)
    if status == "used":
        return and_(live, Invite.used_at.is_not(None))
    unused = and_(live, Invite.used_at.is_(None))
    if status == "expired":
        return and_(unused, Invite.expires_at <= now)
    return and_(unused, Invite.expires_at > now)


async def invites_page(
    db: AsyncSession,
    *,
    status: str | None,
    now: datetime,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[Invite]:
    stmt = select(Invite)
    if status:
        stmt = stmt.where(invite_status_filter(status, now))
    page = newest_first_page(stmt, time=Invite.created_at, key=Invite.id, after=after, limit=limit)
    return (await db.execute(page)).scalars().all()


async def invite_role_names(
    db: AsyncSession, invite_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[str]]:
    ids = list(invite_ids)
    out: dict[uuid.UUID, list[str]] = {invite_id: [] for invite_id in ids}
    if not ids:
        return out
    rows = await db.execute(
        select(InviteRole.invite_id, Role.name)
        .join(Role, Role.id == InviteRole.role_id)
        .where(InviteRole.invite_id.in_(ids))
        .order_by(Role.name)
    )
    for invite_id, name in rows:
        out[invite_id].append(name)
    return out


async def invite_role_ids(db: AsyncSession, invite_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await db.execute(select(InviteRole.role_id).where(InviteRole.invite_id == invite_id))
    return list(rows.scalars())


async def add_invite(db: AsyncSession, invite: Invite, role_ids: Iterable[uuid.UUID]) -> None:
    db.add(invite)
    await db.flush()
    for role_id in set(role_ids):
        db.add(InviteRole(invite_id=invite.id, role_id=role_id))
    await db.flush()


async def invite_by_hash(db: AsyncSession, token_hash: str) -> Invite | None:
    stmt = select(Invite).where(Invite.token_hash == token_hash)
    return (await db.execute(stmt)).scalar_one_or_none()


async def claim_invite(db: AsyncSession, token_hash: str, now: datetime) -> uuid.UUID | None:
    """Spend a usable invitation: one conditional update, so of two concurrent uses exactly
    one finds it unused (the other waits for its row lock on PostgreSQL, or for the writer's
    turn on SQLite, then finds it used). None: not usable (unknown, revoked, used, expired)."""
    result = await db.execute(
        update(Invite)
        .where(
            Invite.token_hash == token_hash,
            Invite.used_at.is_(None),
            Invite.revoked_at.is_(None),
            Invite.expires_at > now,
        )
        .values(used_at=now)
        .returning(Invite.id)
        .execution_options(synchronize_session=False)
    )
    return result.scalar_one_or_none()


async def set_invite_user(db: AsyncSession, invite_id: uuid.UUID, user_id: uuid.UUID) -> None:
    await db.execute(
        update(Invite)
        .where(Invite.id == invite_id)
        .values(used_by=user_id)
        .execution_options(synchronize_session=False)
    )


async def revoke_invite(db: AsyncSession, invite_id: uuid.UUID, now: datetime) -> bool:
    """Revoke an unused invitation; False when it was used or revoked meanwhile."""
    result = await db.execute(
        update(Invite)
        .where(Invite.id == invite_id, Invite.used_at.is_(None), Invite.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    assert isinstance(result, CursorResult)
    return result.rowcount == 1
