"""Every query on the outbox and attempts tables (the notify feature is their one writer)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from confide.notify.models import NotificationAttempt, OutboxMessage


def _claimable(now: datetime) -> ColumnElement[bool]:
    return and_(
        OutboxMessage.status == "queued",
        OutboxMessage.next_attempt_at <= now,
        or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
    )


async def claim(
    session: AsyncSession, message_id: uuid.UUID, *, now: datetime, until: datetime
) -> OutboxMessage | None:
    """Take the message for one delivery attempt (counted now), if it is queued, due and not
    held by another delivery; None otherwise. One conditional UPDATE: of two deliveries racing
    for the same message, exactly one gets it, on SQLite and PostgreSQL alike."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, _claimable(now))
        .values(claimed_until=until, attempts=OutboxMessage.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        return None
    return (
        await session.execute(
            select(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .execution_options(populate_existing=True)
        )
    ).scalar_one()


async def due_ids(session: AsyncSession, *, now: datetime, limit: int) -> list[uuid.UUID]:
    """Messages waiting for a delivery attempt now, oldest first."""
    rows = await session.execute(
        select(OutboxMessage.id)
        .where(_claimable(now))
        .order_by(OutboxMessage.next_attempt_at)
        .limit(limit)
    )
    return list(rows.scalars())


async def finish(
    session: AsyncSession, message_id: uuid.UUID, *, status: str, at: datetime
) -> None:
    """Sent or given up: the body is blanked (the link or code must not outlive delivery)."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(
            status=status,
            body="",
            sent_at=at if status == "sent" else None,
            next_attempt_at=None,
            claimed_until=None,
        )
        .execution_options(synchronize_session=False)
    )


async def retry_at(session: AsyncSession, message_id: uuid.UUID, *, at: datetime) -> None:
    """Let the message go and try it again at `at`."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(next_attempt_at=at, claimed_until=None)
        .execution_options(synchronize_session=False)
    )


async def add_attempt(session: AsyncSession, attempt: NotificationAttempt) -> None:
    session.add(attempt)
    await session.flush()


async def attempts_of(session: AsyncSession, message_id: uuid.UUID) -> list[NotificationAttempt]:
    rows = await session.execute(
        select(NotificationAttempt)
        .where(NotificationAttempt.message_id == message_id)
        .order_by(NotificationAttempt.at, NotificationAttempt.id)
    )
    return list(rows.scalars())
