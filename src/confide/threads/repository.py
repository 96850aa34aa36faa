"""Every query of the threads feature. Reads of user-owned rows always filter by owner."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from confide.db.keyset import newest_first_page
from confide.runs.models import IS_RUNNING, Run
from confide.threads.models import Message, Thread


def _like(q: str) -> str:
    escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def get_owned(
    db: AsyncSession, *, owner_id: uuid.UUID, thread_id: uuid.UUID
) -> Thread | None:
    stmt = select(Thread).where(Thread.id == thread_id, Thread.owner_id == owner_id)
    return (await db.execute(stmt)).scalar_one_or_none()


async def list_owned(
    db: AsyncSession,
    *,
    owner_id: uuid.UUID,
    agent_id: str | None,
    q: str | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[Thread]:
    """The owner's threads, newest activity first, keyset on (last_activity_at, id)."""
    stmt = select(Thread).where(Thread.owner_id == owner_id)
    if agent_id is not None:
        stmt = stmt.where(Thread.agent_id == agent_id)
    if q:
        pattern = _like(q)
        in_messages = exists().where(
            Message.thread_id == Thread.id,
            func.lower(Message.content).like(pattern, escape="\\"),
        )
        stmt = stmt.where(or_(func.lower(Thread.title).like(pattern, escape="\\"), in_messages))
    stmt = newest_first_page(
        stmt, time=Thread.last_activity_at, key=Thread.id, after=after, limit=limit
    )
    return (await db.execute(stmt)).scalars().all()


# Built once: fifty UUIDs coerced into an IN clause per request cost more than the query.
_RUNNING_IN = select(Run.thread_id, Run.id).where(
    Run.thread_id.in_(bindparam("thread_ids", expanding=True)), IS_RUNNING
)


async def running_runs(
    db: AsyncSession, thread_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    """The run in progress of each of these threads that has one (at most one each)."""
    if not thread_ids:
        return {}
    rows = await db.execute(_RUNNING_IN, {"thread_ids": list(thread_ids)})
    return {thread_id: run_id for thread_id, run_id in rows.all()}


async def list_messages(
    db: AsyncSession,
    *,
    thread_id: uuid.UUID,
    after_seq: int | None,
    newest_first: bool,
    limit: int,
) -> Sequence[Message]:
    """A page of a thread's messages by position (the thread's ownership is checked first)."""
    stmt = select(Message).where(Message.thread_id == thread_id)
    if after_seq is not None:
        stmt = stmt.where(Message.seq < after_seq if newest_first else Message.seq > after_seq)
    order = Message.seq.desc() if newest_first else Message.seq.asc()
    return (await db.execute(stmt.order_by(order).limit(limit))).scalars().all()


async def reserve_seqs(db: AsyncSession, thread: Thread, count: int, now: datetime) -> int:
    """Claim `count` positions at the thread's end; return the first. Bumps its activity."""
    result = await db.execute(
        update(Thread)
        .where(Thread.id == thread.id)
        .values(message_count=Thread.message_count + count, last_activity_at=now)
        .returning(Thread.message_count)
    )
    last = int(result.scalar_one())
    thread.message_count, thread.last_activity_at = last, now
    return last - count + 1
