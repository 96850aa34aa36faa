"""Every read of the audit trail (its rows are written only by service.py `record`)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from confide.audit.models import AuditEvent, AuditHead

# Every column `row_hash` covers, with the id and the two hashes: what `verify` reads.
CHAIN_COLUMNS = (
    AuditEvent.id,
    AuditEvent.at,
    AuditEvent.actor_id,
    AuditEvent.actor,
    AuditEvent.action,
    AuditEvent.target_type,
    AuditEvent.target_id,
    AuditEvent.outcome,
    AuditEvent.ip,
    AuditEvent.user_agent,
    AuditEvent.request_id,
    AuditEvent.detail,
    AuditEvent.prev_hash,
    AuditEvent.hash,
)


@dataclass(frozen=True, slots=True)
class EventFilter:
    """What an auditor narrows the trail to; every field given must match."""

    actor_ids: tuple[uuid.UUID, ...] = ()
    actor_text: str | None = None  # lower-cased: the actor column as recorded (an email)
    action: str | None = None
    action_prefix: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    outcome: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        actor: list[ColumnElement[bool]] = []
        if self.actor_ids:
            actor.append(AuditEvent.actor_id.in_(self.actor_ids))
        if self.actor_text is not None:
            actor.append(func.lower(AuditEvent.actor) == self.actor_text)
        if actor:
            found.append(or_(*actor))
        if self.action is not None:
            found.append(AuditEvent.action == self.action)
        if self.action_prefix is not None:
            found.append(AuditEvent.action.startswith(self.action_prefix, autoescape=True))
        if self.target_type is not None:
            found.append(AuditEvent.target_type == self.target_type)
        if self.target_id is not None:
            found.append(AuditEvent.target_id == self.target_id)
        if self.outcome is not None:
            found.append(AuditEvent.outcome == self.outcome)
        if self.since is not None:
            found.append(AuditEvent.at >= self.since)
        if self.until is not None:
            found.append(AuditEvent.at < self.until)
        return found


async def events_page(
    db: AsyncSession, *, where: EventFilter, before_id: int | None, limit: int
) -> Sequence[AuditEvent]:
    """Matching events, newest first (the id is the chain's order), from before `before_id`."""
    stmt = select(AuditEvent).where(*where.conditions())
    if before_id is not None:
        stmt = stmt.where(AuditEvent.id < before_id)
    return (await db.execute(stmt.order_by(AuditEvent.id.desc()).limit(limit))).scalars().all()


async def account_events_page(
    db: AsyncSession, *, user_id: uuid.UUID, prefix: str, before_id: int | None, limit: int
) -> Sequence[AuditEvent]:
    """A user's own account events (they are the actor), newest first."""
    stmt = select(AuditEvent).where(
        and_(AuditEvent.actor_id == user_id, AuditEvent.action.startswith(prefix))
    )
    if before_id is not None:
        stmt = stmt.where(AuditEvent.id < before_id)
    return (await db.execute(stmt.order_by(AuditEvent.id.desc()).limit(limit))).scalars().all()


# The chain, for `verify` ------------------------------------------------------------------------


async def chain_batch(conn: AsyncConnection, *, after_id: int, limit: int) -> list[dict[str, Any]]:
    """The next `limit` events after `after_id`, in the chain's order, as plain rows."""
    result = await conn.execute(
        select(*CHAIN_COLUMNS).where(AuditEvent.id > after_id).order_by(AuditEvent.id).limit(limit)
    )
    return [dict(row) for row in result.mappings()]


async def first_id_after(conn: AsyncConnection, after_id: int) -> int | None:
    found: int | None = (
        await conn.execute(select(func.min(AuditEvent.id)).where(AuditEvent.id > after_id))
    ).scalar_one()
    return found


async def head(conn: AsyncConnection) -> tuple[int, str] | None:
    row = (
        await conn.execute(select(AuditHead.last_id, AuditHead.last_hash).where(AuditHead.id == 1))
    ).one_or_none()
    return None if row is None else (row[0], row[1])


async def count_events(conn: AsyncConnection) -> int:
    total: int = (await conn.execute(select(func.count()).select_from(AuditEvent))).scalar_one()
    return total
