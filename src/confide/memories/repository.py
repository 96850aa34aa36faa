"""Every query of the memories feature. Each read of memories takes the owner and filters
by it: another user's memory is never found."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, delete, false, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from confide.memories.models import ACTIVE, SUPERSEDED, Memory
from confide.preferences.models import UserSettings
from confide.storage.codec import Executor
from confide.threads.models import Message, Thread

# The prompt's order: most recently made, edited or used first, then the most used.
_RECENT = case(
    (
        and_(Memory.last_used_at.is_not(None), Memory.last_used_at > Memory.updated_at),
        Memory.last_used_at,
    ),
    else_=Memory.updated_at,
)


async def get_owned(db: Executor, *, user_id: uuid.UUID, memory_id: uuid.UUID) -> Any:
    found = await db.execute(
        select(Memory.__table__).where(Memory.id == memory_id, Memory.user_id == user_id)
    )
    return found.one_or_none()


async def list_owned(
    db: Executor,
    *,
    user_id: uuid.UUID,
    statuses: Sequence[str],
    after: tuple[datetime, uuid.UUID] | None,
    limit: int | None,
) -> Sequence[Any]:
    """The user's memories, newest first, keyset-paginated by (created_at, id)."""
    query = select(Memory.__table__).where(Memory.user_id == user_id, Memory.status.in_(statuses))
    if after is not None:
        at, last_id = after
        query = query.where(
            or_(Memory.created_at < at, and_(Memory.created_at == at, Memory.id < last_id))
        )
    query = query.order_by(Memory.created_at.desc(), Memory.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return (await db.execute(query)).all()


async def active_of_key(db: Executor, *, user_id: uuid.UUID, key: str) -> Sequence[Any]:
    """The user's active memories of one key (id, content)."""
    found = await db.execute(
        select(Memory.id, Memory.content).where(
            Memory.user_id == user_id, Memory.key == key, Memory.status == ACTIVE
        )
    )
    return found.all()


async def from_message(
    db: Executor, *, user_id: uuid.UUID, message_id: uuid.UUID, key: str
) -> Sequence[Any]:
    """What was already remembered of one key from one message (id, content), any status."""
    found = await db.execute(
        select(Memory.id, Memory.content).where(
            Memory.user_id == user_id,
            Memory.source_message_id == message_id,
            Memory.key == key,
        )
    )
    return found.all()


async def for_prompt(db: Executor, *, user_id: uuid.UUID, limit: int) -> Sequence[Any]:
    """The user's active memories in the prompt's order (id, key, content); none when the
    user's memory is off. One statement, the setting read with the rows (a run's prompt
    asks this of every turn: RunMemories.prompt_for)."""
    memory_off = (
        select(UserSettings.user_id)
        .where(UserSettings.user_id == user_id, UserSettings.memory_enabled == false())
        .exists()
    )
    found = await db.execute(
        select(Memory.id, Memory.key, Memory.content)
        .where(Memory.user_id == user_id, Memory.status == ACTIVE, ~memory_off)
        .order_by(_RECENT.desc(), Memory.use_count.desc(), Memory.created_at.desc())
        .limit(limit)
    )
    return found.all()


async def insert_memory(db: Executor, values: dict[str, Any]) -> None:
    await db.execute(insert(Memory).values(**values))


async def update_owned(
    db: Executor, *, user_id: uuid.UUID, memory_id: uuid.UUID, values: dict[str, Any]
) -> bool:
    result = await db.execute(
        update(Memory)
        .where(Memory.id == memory_id, Memory.user_id == user_id)
        .values(**values)
        .returning(Memory.id)
        .execution_options(synchronize_session=False)
    )
    return result.scalar_one_or_none() is not None


async def supersede(
    db: Executor,
    *,
    user_id: uuid.UUID,
    memory_ids: Sequence[uuid.UUID],
    by: uuid.UUID,
    now: datetime,
) -> None:
    if memory_ids:
        await db.execute(
            update(Memory)
            .where(Memory.user_id == user_id, Memory.id.in_(memory_ids))
            .values(status=SUPERSEDED, superseded_by=by, updated_at=now)
            .execution_options(synchronize_session=False)
        )


async def supersede_others(
    db: Executor, *, user_id: uuid.UUID, key: str, keep: uuid.UUID, now: datetime
) -> None:
    """Every other active memory of the user's `key` superseded by `keep`: a statement, not a
    list read before, so a fact stored meanwhile by another job is superseded too."""
    await db.execute(
        update(Memory)
        .where(
            Memory.user_id == user_id,
            Memory.key == key,
            Memory.status == ACTIVE,
            Memory.id != keep,
        )
        .values(status=SUPERSEDED, superseded_by=keep, updated_at=now)
        .execution_options(synchronize_session=False)
    )


async def lock_user(db: Executor, user_id: uuid.UUID) -> None:
    """Serialise the storing of one user's facts until the transaction ends (PostgreSQL: an
    advisory lock; SQLite has one writer at a time, and `supersede_others` runs as it)."""
    dialect = db.dialect if isinstance(db, AsyncConnection) else db.get_bind().dialect
    if dialect.name == "postgresql":
        await db.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"confide:memories:{user_id}"},
        )


async def mark_used(
    db: Executor, *, user_id: uuid.UUID, memory_ids: Sequence[uuid.UUID], now: datetime
) -> None:
    if memory_ids:
        await db.execute(
            update(Memory)
            .where(Memory.user_id == user_id, Memory.id.in_(memory_ids))
            .values(last_used_at=now, use_count=Memory.use_count + 1)
            .execution_options(synchronize_session=False)
        )


async def delete_owned(db: Executor, *, user_id: uuid.UUID, memory_id: uuid.UUID) -> bool:
    result = await db.execute(
        delete(Memory)
        .where(Memory.id == memory_id, Memory.user_id == user_id)
        .returning(Memory.id)
        .execution_options(synchronize_session=False)
    )
    return result.scalar_one_or_none() is not None


async def run_user_messages(
    db: Executor, *, user_id: uuid.UUID, run_id: uuid.UUID
) -> Sequence[Any]:
    """The user messages a run of the user's own thread added (id, thread_id, content), in
    order. Read only: the threads feature writes messages."""
    found = await db.execute(
        select(Message.id, Message.thread_id, Message.content)
        .join(Thread, Thread.id == Message.thread_id)
        .where(
            Message.run_id == run_id,
            Message.role == "user",
            Message.content.is_not(None),
            Thread.owner_id == user_id,
        )
        .order_by(Message.seq)
    )
    return found.all()
