"""Memory rules: what is remembered, what a new fact replaces, what a user may change.
Never commits (the request's session does, or the job's own transaction).

Every memory's text goes through the user's content codec (table "memories", column
"content", the memory's id as the row).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from confide.db.base import utcnow
from confide.memories import repository
from confide.memories.errors import EmptyMemory, MemoryExists, MemoryNotFound
from confide.memories.facts import SINGLE_VALUED, Fact, normalised
from confide.memories.models import ACTIVE, SUPERSEDED
from confide.memories.schemas import MemoryOut
from confide.storage.codec import ContentCodec, Executor

TABLE, COLUMN = "memories", "content"


@dataclass(frozen=True, slots=True)
class Source:
    """The message a fact was learnt from."""

    message_id: uuid.UUID
    thread_id: uuid.UUID


def seal(codec: ContentCodec, text: str, memory_id: uuid.UUID) -> bytes:
    return codec.encode(text, table=TABLE, column=COLUMN, row_id=memory_id)


def unseal(codec: ContentCodec, stored: bytes, memory_id: uuid.UUID) -> str:
    return codec.decode(bytes(stored), table=TABLE, column=COLUMN, row_id=memory_id)


async def remember(
    db: Executor,
    codec: ContentCodec,
    fact: Fact,
    *,
    source: Source | None,
    now: datetime | None = None,
) -> uuid.UUID | None:
    """Store a fact for the codec's user; the new memory's id, or None when it was already
    known (the same text active under the same key, or already learnt from this message:
    so a job that runs twice stores nothing the second time). A fact of a single-valued key
    (name, location) supersedes the active one it contradicts, which is kept."""
    user_id = codec.user_id
    wanted = normalised(fact.content)
    await repository.lock_user(db, user_id)  # two jobs of one user never both add a name
    if source is not None:
        learnt = await repository.from_message(
            db, user_id=user_id, message_id=source.message_id, key=fact.key
        )
        if any(normalised(unseal(codec, row.content, row.id)) == wanted for row in learnt):
            return None
    active = await repository.active_of_key(db, user_id=user_id, key=fact.key)
    if any(normalised(unseal(codec, row.content, row.id)) == wanted for row in active):
        return None
    now = now or utcnow()
    memory_id = uuid.uuid4()
    await repository.insert_memory(
        db,
        {
            "id": memory_id,
            "user_id": user_id,
            "key": fact.key,
            "content": seal(codec, fact.content, memory_id),
            "source_message_id": source.message_id if source else None,
            "source_thread_id": source.thread_id if source else None,
            "status": ACTIVE,
            "created_at": now,
            "updated_at": now,
            "use_count": 0,
        },
    )
    if fact.key in SINGLE_VALUED:
        await repository.supersede_others(
            db, user_id=user_id, key=fact.key, keep=memory_id, now=now
        )
    return memory_id


class MemoryService:
    """A user's own memories, for their requests."""

    def __init__(self, db: Executor, codec: ContentCodec) -> None:
        self.db = db
        self.codec = codec
        self.user_id = codec.user_id

    async def list_memories(
        self,
        *,
        statuses: Sequence[str] = (ACTIVE,),
        after: tuple[datetime, uuid.UUID] | None = None,
        limit: int | None = None,
    ) -> list[MemoryOut]:
        """The user's memories, newest first."""
        rows = await repository.list_owned(
            self.db, user_id=self.user_id, statuses=statuses, after=after, limit=limit
        )
        return [self.out(row) for row in rows]

    async def export(self) -> list[MemoryOut]:
        """Every memory of the user, superseded ones included."""
        return await self.list_memories(statuses=(ACTIVE, SUPERSEDED))

    async def add(self, *, key: str, content: str) -> MemoryOut:
        """Remember a fact the user wrote themselves (no source message)."""
        fact = Fact(key=key, content=_text(content))  # type: ignore[arg-type]
        memory_id = await remember(self.db, self.codec, fact, source=None)
        if memory_id is None:
            raise MemoryExists
        return await self.get(memory_id)

    async def get(self, memory_id: uuid.UUID) -> MemoryOut:
        """One of the user's memories; anyone else's is a missing one."""
        row = await repository.get_owned(self.db, user_id=self.user_id, memory_id=memory_id)
        if row is None:
            raise MemoryNotFound
        return self.out(row)

    async def edit(
        self, memory_id: uuid.UUID, *, key: str | None, content: str | None
    ) -> MemoryOut:
        """Change a memory's text or key. Made a single-valued key's active fact, it
        supersedes the one it replaces, as a learnt fact would."""
        current = await self.get(memory_id)
        values: dict[str, Any] = {"updated_at": utcnow()}
        if content is not None:
            values["content"] = seal(self.codec, _text(content), memory_id)
        if key is not None:
            values["key"] = key
        await repository.update_owned(
            self.db, user_id=self.user_id, memory_id=memory_id, values=values
        )
        new_key = key or current.key
        if current.status == ACTIVE and new_key in SINGLE_VALUED:
            others = await repository.active_of_key(self.db, user_id=self.user_id, key=new_key)
            await repository.supersede(
                self.db,
                user_id=self.user_id,
                memory_ids=[row.id for row in others if row.id != memory_id],
                by=memory_id,
                now=values["updated_at"],
            )
        return await self.get(memory_id)

    async def delete(self, memory_id: uuid.UUID) -> None:
        """Forget a memory (the ones it had superseded stay, superseded by nothing)."""
        if not await repository.delete_owned(self.db, user_id=self.user_id, memory_id=memory_id):
            raise MemoryNotFound

    def out(self, row: Any) -> MemoryOut:
        return MemoryOut(
            id=row.id,
            key=row.key,
            content=unseal(self.codec, row.content, row.id),
            status=row.status,
            superseded_by=row.superseded_by,
            source_message_id=row.source_message_id,
            source_thread_id=row.source_thread_id,
            created_at=row.created_at,
            updated_at=row.updated_at,
            last_used_at=row.last_used_at,
            use_count=row.use_count,
        )


def _text(content: str) -> str:
    text = " ".join(content.split())
    if not text:
        raise EmptyMemory
    return text
