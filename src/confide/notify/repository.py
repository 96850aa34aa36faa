"""Every query on the outbox and attempts tables (the notify feature is their one writer)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from confide.notify.models import NotificationAttempt, OutboxMessage


def _due(status: str, now: datetime) -> ColumnElement[bool]:
    """In `status`, due, and not held by another delivery or check."""
    return and_(
        OutboxMessage.status == status,
        OutboxMessage.next_attempt_at <= now,
        or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
    )


def _claimable(now: datetime) -> ColumnElement[bool]:
    return _due("queued", now)


async def _take(
    session: AsyncSession, message_id: uuid.UUID, where: ColumnElement[bool], **values: Any
) -> OutboxMessage | None:
    """Set `values` on the message if `where` holds, and the message then; None if it did
    not. One conditional UPDATE: of two racing for the same message, exactly one gets it, on
    SQLite and PostgreSQL alike."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, where)
        .values(**values)
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


async def _due_ids(
    session: AsyncSession, where: ColumnElement[bool], *, limit: int
) -> list[uuid.UUID]:
    rows = await session.execute(
        select(OutboxMessage.id).where(where).order_by(OutboxMessage.next_attempt_at).limit(limit)
    )
    return list(rows.scalars())


async def claim(
    session: AsyncSession, message_id: uuid.UUID, *, now: datetime, until: datetime
) -> OutboxMessage | None:
    """Take the message for one delivery attempt (counted now), if it is queued, due and not
    held by another delivery; None otherwise (`_take`)."""
    return await _take(
        session,
        message_id,
        _claimable(now),
        claimed_until=until,
        attempts=OutboxMessage.attempts + 1,
    )


async def due_ids(session: AsyncSession, *, now: datetime, limit: int) -> list[uuid.UUID]:
    """Messages waiting for a delivery attempt now, oldest first."""
    return await _due_ids(session, _claimable(now), limit=limit)


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


# Delivery reports (an SMS Telesign took, whose delivery is not known yet) ------------------


async def accept(
    session: AsyncSession, message_id: uuid.UUID, *, at: datetime, check_at: datetime
) -> None:
    """Taken by a channel that reports later: the message waits for its delivery report (the
    body stays, for the fallback email an undelivered SMS becomes)."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(status="accepted", sent_at=at, next_attempt_at=check_at, claimed_until=None)
        .execution_options(synchronize_session=False)
    )


def _checkable(now: datetime) -> ColumnElement[bool]:
    return _due("accepted", now)


async def claim_check(
    session: AsyncSession, message_id: uuid.UUID, *, now: datetime, until: datetime
) -> OutboxMessage | None:
    """Take an accepted message for one status check, if it is due and not held by another
    check (`_take`, as `claim`)."""
    return await _take(session, message_id, _checkable(now), claimed_until=until)


async def check_ids(session: AsyncSession, *, now: datetime, limit: int) -> list[uuid.UUID]:
    """Accepted messages whose status check is due, oldest first."""
    return await _due_ids(session, _checkable(now), limit=limit)


async def check_again_at(session: AsyncSession, message_id: uuid.UUID, *, at: datetime) -> None:
    """Let the accepted message go; check its status again at `at`."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == "accepted")
        .values(next_attempt_at=at, claimed_until=None)
        .execution_options(synchronize_session=False)
    )


async def settle_report(session: AsyncSession, message_id: uuid.UUID, *, status: str) -> bool:
    """Close an accepted message with its outcome (sent or failed; the body is blanked).
    True for the one caller that moved it out of `accepted`: of two checks that both read a
    final status, only that one records it and queues the fallback email."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == "accepted")
        .values(status=status, body="", next_attempt_at=None, claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1


async def report_on_attempt(
    session: AsyncSession,
    message_id: uuid.UUID,
    *,
    provider_ref: str,
    status: str,
    error: str | None,
) -> None:
    """Write the delivery outcome on the attempt that handed the message over."""
    await session.execute(
        update(NotificationAttempt)
        .where(
            NotificationAttempt.message_id == message_id,
            NotificationAttempt.provider_ref == provider_ref,
        )
        .values(status=status, error=error)
        .execution_options(synchronize_session=False)
    )


async def delivered_ref(session: AsyncSession, message_id: uuid.UUID) -> str | None:
    """The provider reference of the attempt that handed the message over."""
    rows = await session.execute(
        select(NotificationAttempt.provider_ref)
        .where(
            NotificationAttempt.message_id == message_id,
            NotificationAttempt.provider_ref.is_not(None),
        )
        .order_by(NotificationAttempt.at.desc())
        .limit(1)
    )
    return rows.scalar_one_or_none()


# Retention -------------------------------------------------------------------------------


async def finished_before(
    session: AsyncSession, *, cutoff: datetime, limit: int
) -> list[uuid.UUID]:
    """Sent or given-up messages created before `cutoff` (never a queued or accepted one)."""
    rows = await session.execute(
        select(OutboxMessage.id)
        .where(OutboxMessage.status.in_(("sent", "failed")), OutboxMessage.created_at < cutoff)
        .order_by(OutboxMessage.created_at)
        .limit(limit)
    )
    return list(rows.scalars())


async def delete_messages(session: AsyncSession, message_ids: list[uuid.UUID]) -> None:
    """Delete the messages and their attempts (explicitly: SQLite may not enforce the
    foreign key's ON DELETE CASCADE)."""
    await session.execute(
        delete(NotificationAttempt).where(NotificationAttempt.message_id.in_(message_ids))
    )
    await session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(message_ids)))
