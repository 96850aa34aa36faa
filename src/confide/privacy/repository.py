"""Every query of the privacy feature: the pages an export reads, the rows a deletion removes,
and the threads retention finds. Reads span other features' tables (an export is all of a
user's data); the only writes are deletions, of the account's row (its rows in every other
table go with it by their foreign keys, ON DELETE CASCADE) and of threads past retention."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, Select, and_, delete, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from confide.access.models import Invite
from confide.audit.models import AuditEvent
from confide.auth.models import AuthSession, User
from confide.preferences.models import UserSettings
from confide.runs.models import IS_ACTIVE, Run
from confide.storage.codec import Executor
from confide.threads.models import Message, Thread, ThreadShare

# Export ----------------------------------------------------------------------------------------


async def threads_page(
    db: AsyncSession, *, owner_id: uuid.UUID, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> Sequence[Thread]:
    """The user's threads, oldest first, keyset on (created_at, id)."""
    stmt = select(Thread).where(Thread.owner_id == owner_id)
    if after is not None:
        at, last_id = after
        stmt = stmt.where(
            or_(Thread.created_at > at, and_(Thread.created_at == at, Thread.id > last_id))
        )
    stmt = stmt.order_by(Thread.created_at, Thread.id).limit(limit)
    return (await db.execute(stmt)).scalars().all()


async def messages_page(
    db: AsyncSession, *, thread_id: uuid.UUID, after_seq: int, limit: int
) -> Sequence[Message]:
    """A thread's messages after position `after_seq`, in order."""
    stmt = (
        select(Message)
        .where(Message.thread_id == thread_id, Message.seq > after_seq)
        .order_by(Message.seq)
        .limit(limit)
    )
    return (await db.execute(stmt)).scalars().all()


async def sessions_of(db: AsyncSession, user_id: uuid.UUID) -> Sequence[AuthSession]:
    """Every sign-in of the user still stored (ended ones until the nightly purge)."""
    stmt = (
        select(AuthSession)
        .where(AuthSession.user_id == user_id)
        .order_by(AuthSession.created_at, AuthSession.id)
    )
    return (await db.execute(stmt)).scalars().all()


async def audit_page(
    db: AsyncSession, *, actor_id: uuid.UUID, after_id: int, limit: int
) -> Sequence[AuditEvent]:
    """The events the user is the actor of, in the trail's order, after `after_id`."""
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.actor_id == actor_id, AuditEvent.id > after_id)
        .order_by(AuditEvent.id)
        .limit(limit)
    )
    return (await db.execute(stmt)).scalars().all()


async def shares_given(db: AsyncSession, owner_id: uuid.UUID) -> Sequence[Any]:
    """(thread id, stored title, recipient's email, shared at) for the user's shared threads."""
    stmt = (
        select(Thread.id, Thread.title, User.email, ThreadShare.created_at)
        .join(ThreadShare, ThreadShare.thread_id == Thread.id)
        .join(User, User.id == ThreadShare.user_id)
        .where(Thread.owner_id == owner_id)
        .order_by(ThreadShare.created_at, ThreadShare.id)
    )
    return (await db.execute(stmt)).all()


async def shares_received(db: AsyncSession, user_id: uuid.UUID) -> Sequence[Any]:
    """(thread id, stored title, owner id, owner's email, shared at) for threads shared with
    the user."""
    owner = aliased(User)
    stmt = (
        select(Thread.id, Thread.title, Thread.owner_id, owner.email, ThreadShare.created_at)
        .join(ThreadShare, ThreadShare.thread_id == Thread.id)
        .join(owner, owner.id == Thread.owner_id)
        .where(ThreadShare.user_id == user_id)
        .order_by(ThreadShare.created_at, ThreadShare.id)
    )
    return (await db.execute(stmt)).all()


# Deletion --------------------------------------------------------------------------------------


async def delete_account_rows(db: AsyncSession, user_id: uuid.UUID) -> bool:
    """Delete the account's row, and with it (ON DELETE CASCADE) its sessions and refresh
    tokens, threads (messages, runs, events, search tokens), shares both ways, keys, MFA,
    passkeys, phone, settings, memories and queued notifications. The invitation it
    registered with names its email: deleted too. False: there was no such account."""
    await db.execute(delete(Invite).where(Invite.used_by == user_id))
    result = await db.execute(delete(User).where(User.id == user_id))
    assert isinstance(result, CursorResult)
    return result.rowcount == 1


# Retention -------------------------------------------------------------------------------------


def owners_with_days(days: int) -> Select[uuid.UUID]:
    """The users whose own retention is `days`."""
    return select(UserSettings.user_id).where(UserSettings.retention_days == days)


def owners_below_days(days: int) -> Select[uuid.UUID]:
    """The users whose own retention is shorter than `days`."""
    return select(UserSettings.user_id).where(UserSettings.retention_days < days)


async def user_retentions(db: Executor, *, below: int | None) -> list[int]:
    """The distinct retentions users chose (those shorter than `below`, when given)."""
    stmt = select(UserSettings.retention_days).where(UserSettings.retention_days.is_not(None))
    if below is not None:
        stmt = stmt.where(UserSettings.retention_days < below)
    values = (await db.execute(stmt.distinct())).scalars().all()
    return sorted(int(v) for v in values if v is not None)


async def expired_threads(
    db: Executor,
    *,
    cutoff: datetime,
    owners: Select[uuid.UUID] | None = None,
    not_owners: Select[uuid.UUID] | None = None,
    limit: int,
) -> list[uuid.UUID]:
    """Up to `limit` threads idle since before `cutoff` (of `owners`, or of anyone but
    `not_owners`) with no run in progress."""
    running = exists().where(Run.thread_id == Thread.id, IS_ACTIVE)
    stmt = select(Thread.id).where(Thread.last_activity_at < cutoff, ~running)
    if owners is not None:
        stmt = stmt.where(Thread.owner_id.in_(owners))
    if not_owners is not None:
        stmt = stmt.where(Thread.owner_id.not_in(not_owners))
    stmt = stmt.order_by(Thread.last_activity_at, Thread.id).limit(limit)
    return list((await db.execute(stmt)).scalars().all())


async def delete_threads(db: Executor, thread_ids: Sequence[uuid.UUID], *, cutoff: datetime) -> int:
    """Delete these threads (their messages, runs and shares go with them), unless one was
    used again or a run started on it since they were found."""
    running = exists().where(Run.thread_id == Thread.id, IS_ACTIVE)
    result = await db.execute(
        delete(Thread).where(Thread.id.in_(thread_ids), Thread.last_activity_at < cutoff, ~running)
    )
    return int(getattr(result, "rowcount", 0) or 0)
