"""Every query of the threads feature. Reads of user-owned rows always filter by owner."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Text, bindparam, exists, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from confide.db.keyset import newest_first_page
from confide.runs.models import IS_RUNNING, Run
from confide.threads.models import Message, Thread

# Repositories run on a request's session or, outside a request, on a `Database.begin()`
# connection: Core statements work on both.
Executor = AsyncConnection | AsyncSession


def _like(q: str) -> str:
    escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def get_owned(
    db: AsyncSession, *, owner_id: uuid.UUID, thread_id: uuid.UUID
) -> Thread | None:
    stmt = select(Thread).where(Thread.id == thread_id, Thread.owner_id == owner_id)
    return (await db.execute(stmt)).scalar_one_or_none()


_OWNED_AGENT = select(Thread.agent_id).where(
    Thread.id == bindparam("b_thread"), Thread.owner_id == bindparam("b_owner")
)


async def owned_agent_id(db: Executor, *, owner_id: uuid.UUID, thread_id: uuid.UUID) -> str | None:
    """The agent of the owner's thread (None: no such thread, or someone else's)."""
    params = {"b_thread": thread_id, "b_owner": owner_id}
    return (await db.execute(_OWNED_AGENT, params)).scalar_one_or_none()


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


# The one numbering rule: a thread's messages take the positions after its `message_count`,
# claimed in the same statement that bumps it (and its activity, and the title from the
# first user message). Built once: it runs on every turn.
_CLAIM = (
    update(Thread)
    .where(Thread.id == bindparam("b_thread"))
    .values(
        message_count=Thread.message_count + bindparam("b_count", type_=Integer()),
        last_activity_at=bindparam("b_now"),
        title=func.coalesce(Thread.title, bindparam("b_title", type_=Text())),
    )
    .returning(Thread.message_count)
)
_INSERT_MESSAGES = insert(Message)
_HISTORY_PAGE = (
    select(
        Message.seq,
        Message.role,
        Message.content,
        Message.tool_calls,
        Message.tool_call_id,
        Message.name,
    )
    .where(Message.thread_id == bindparam("b_thread"), Message.seq < bindparam("b_before"))
    .order_by(Message.seq.desc())
    .limit(bindparam("b_limit"))
)
_LAST_CALL_TURN = (
    select(Message.seq, Message.tool_calls)
    .where(
        Message.thread_id == bindparam("b_thread"),
        Message.role == "assistant",
        Message.tool_calls.is_not(None),
    )
    .order_by(Message.seq.desc())
    .limit(1)
)
_ANSWERED = select(Message.tool_call_id).where(
    Message.thread_id == bindparam("b_thread"),
    Message.role == "tool",
    Message.seq > bindparam("b_after"),
)


async def claim_positions(
    db: Executor, *, thread_id: uuid.UUID, count: int, now: datetime, title: str | None
) -> int | None:
    """Claim `count` positions at the thread's end and return the first (None: no such
    thread). `title` (stored form) is set only if the thread has none yet."""
    claimed = await db.execute(
        _CLAIM, {"b_thread": thread_id, "b_count": count, "b_now": now, "b_title": title}
    )
    last = claimed.scalar_one_or_none()
    return None if last is None else int(last) - count + 1


async def insert_messages(db: Executor, rows: list[dict[str, Any]]) -> None:
    await db.execute(_INSERT_MESSAGES, rows)


async def history_page(
    db: Executor, *, thread_id: uuid.UUID, before_seq: int, limit: int
) -> Sequence[Any]:
    """Up to `limit` messages before a position, newest first (seq, role, content,
    tool_calls, tool_call_id, name)."""
    params = {"b_thread": thread_id, "b_before": before_seq, "b_limit": limit}
    return (await db.execute(_HISTORY_PAGE, params)).all()


async def last_call_turn(db: Executor, *, thread_id: uuid.UUID) -> Any:
    """The thread's last assistant message that called tools: (seq, tool_calls)."""
    return (await db.execute(_LAST_CALL_TURN, {"b_thread": thread_id})).one_or_none()


async def answered_call_ids(db: Executor, *, thread_id: uuid.UUID, after_seq: int) -> set[str]:
    rows = await db.execute(_ANSWERED, {"b_thread": thread_id, "b_after": after_seq})
    return {call_id for call_id in rows.scalars() if call_id is not None}
