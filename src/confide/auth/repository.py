"""Every query of the auth feature."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, CursorResult, and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from confide.auth.models import AuthSession, RefreshToken, User
from confide.db.keyset import newest_first_page


def _live(now: datetime, idle_cutoff: datetime) -> ColumnElement[bool]:
    return and_(
        AuthSession.ended_at.is_(None),
        AuthSession.expires_at > now,
        AuthSession.last_seen_at > idle_cutoff,
    )


async def get_user(db: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await db.get(User, user_id)


async def get_user_by_email_key(db: AsyncSession, key: str) -> User | None:
    return (await db.execute(select(User).where(User.email_key == key))).scalar_one_or_none()


async def get_session_and_user(
    db: AsyncSession, session_id: uuid.UUID
) -> tuple[AuthSession, User] | None:
    row = (
        await db.execute(
            select(AuthSession, User)
            .join(User, User.id == AuthSession.user_id)
            .where(AuthSession.id == session_id)
        )
    ).one_or_none()
    return None if row is None else (row[0], row[1])


async def live_sessions(
    db: AsyncSession, *, user_id: uuid.UUID, now: datetime, idle_cutoff: datetime
) -> Sequence[AuthSession]:
    """The user's live sessions, newest first."""
    stmt = (
        select(AuthSession)
        .where(AuthSession.user_id == user_id, _live(now, idle_cutoff))
        .order_by(AuthSession.created_at.desc(), AuthSession.id.desc())
    )
    return (await db.execute(stmt)).scalars().all()


async def live_sessions_page(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    now: datetime,
    idle_cutoff: datetime,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[AuthSession]:
    """One page of live sessions, newest first, keyset on (created_at, id)."""
    stmt = newest_first_page(
        select(AuthSession).where(AuthSession.user_id == user_id, _live(now, idle_cutoff)),
        time=AuthSession.created_at,
        key=AuthSession.id,
        after=after,
        limit=limit,
    )
    return (await db.execute(stmt)).scalars().all()


async def end_sessions(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    now: datetime,
    reason: str,
    session_ids: Sequence[uuid.UUID] | None = None,
    keep: uuid.UUID | None = None,
) -> list[uuid.UUID]:
    """End the given (or all) open sessions of a user; return the ids that were ended."""
    stmt = (
        update(AuthSession)
        .where(AuthSession.user_id == user_id, AuthSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason)
        .returning(AuthSession.id)
    )
    if session_ids is not None:
        stmt = stmt.where(AuthSession.id.in_(session_ids))
    if keep is not None:
        stmt = stmt.where(AuthSession.id != keep)
    return list((await db.execute(stmt)).scalars().all())


async def touch_session(db: AsyncSession, session_id: uuid.UUID, now: datetime) -> None:
    await db.execute(
        update(AuthSession).where(AuthSession.id == session_id).values(last_seen_at=now)
    )


async def get_refresh_token(
    db: AsyncSession, token_hash: str
) -> tuple[RefreshToken, AuthSession] | None:
    row = (
        await db.execute(
            select(RefreshToken, AuthSession)
            .join(AuthSession, AuthSession.id == RefreshToken.session_id)
            .where(RefreshToken.token_hash == token_hash)
        )
    ).one_or_none()
    return None if row is None else (row[0], row[1])


async def mark_rotated(db: AsyncSession, token_id: uuid.UUID, now: datetime) -> bool:
    """Spend a refresh token; False when someone spent it first (a concurrent reuse)."""
    result = await db.execute(
        update(RefreshToken)
        .where(RefreshToken.id == token_id, RefreshToken.rotated_at.is_(None))
        .values(rotated_at=now)
    )
    assert isinstance(result, CursorResult)
    return result.rowcount == 1


async def session_authenticated_at(db: AsyncSession, session_id: uuid.UUID) -> datetime | None:
    """When the session last proved who it is (sign-in, MFA, re-authentication)."""
    return await db.scalar(select(AuthSession.authenticated_at).where(AuthSession.id == session_id))


async def mark_authenticated(db: AsyncSession, session_id: uuid.UUID, now: datetime) -> None:
    await db.execute(
        update(AuthSession).where(AuthSession.id == session_id).values(authenticated_at=now)
    )
