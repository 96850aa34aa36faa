"""Thread rules: ownership, titles, append-only messages. Never commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from confide.auth.cache import Principal
from confide.db.base import utcnow
from confide.errors import NotFound
from confide.storage.codec import ContentCodec, decode_json, encode_json
from confide.threads import repository
from confide.threads.models import Message, Thread
from confide.threads.schemas import MessageOut, ThreadOut, ToolCallOut

TITLE_LENGTH = 80


class ThreadNotFound(NotFound):
    code = "thread_not_found"
    title = "No such thread"


class AgentRef(Protocol):
    id: str


class AgentCatalog(Protocol):
    """The part of the agent registry threads need."""

    def get_for(self, principal: Principal, agent_id: str) -> AgentRef:
        """The agent, if the caller may use it (raises a 404 domain error otherwise)."""

    def default_for(self, principal: Principal) -> AgentRef:
        """The agent a new thread gets when none is named."""


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to append, in OpenAI chat format."""

    role: str
    content: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class ThreadService:
    def __init__(self, db: AsyncSession, *, codec: ContentCodec) -> None:
        self.db = db
        self.codec = codec

    async def create(
        self, principal: Principal, *, agents: AgentCatalog, agent_id: str | None, title: str | None
    ) -> Thread:
        agent = agents.get_for(principal, agent_id) if agent_id else agents.default_for(principal)
        now = utcnow()
        thread = Thread(
            id=uuid.uuid4(),
            owner_id=principal.user_id,
            agent_id=agent.id,
            title=self.codec.encode(title) if title else None,
            created_at=now,
            last_activity_at=now,
            message_count=0,
        )
        self.db.add(thread)
        await self.db.flush()
        return thread

    async def get(self, principal: Principal, thread_id: uuid.UUID) -> Thread:
        """The caller's thread; anyone else's is indistinguishable from a missing one."""
        thread = await repository.get_owned(
            self.db, owner_id=principal.user_id, thread_id=thread_id
        )
        if thread is None:
            raise ThreadNotFound
        return thread

    async def list_threads(
        self,
        principal: Principal,
        *,
        agent_id: str | None,
        q: str | None,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[Thread]:
        rows = await repository.list_owned(
            self.db, owner_id=principal.user_id, agent_id=agent_id, q=q, after=after, limit=limit
        )
        return list(rows)

    async def rename(self, principal: Principal, thread_id: uuid.UUID, title: str) -> Thread:
        thread = await self.get(principal, thread_id)
        thread.title = self.codec.encode(title)
        await self.db.flush()
        return thread

    async def delete(self, principal: Principal, thread_id: uuid.UUID) -> None:
        thread = await self.get(principal, thread_id)
        await self.db.delete(thread)
        await self.db.flush()

    async def messages(
        self,
        principal: Principal,
        thread_id: uuid.UUID,
        *,
        after_seq: int | None,
        newest_first: bool,
        limit: int,
    ) -> list[MessageOut]:
        thread = await self.get(principal, thread_id)
        rows = await repository.list_messages(
            self.db,
            thread_id=thread.id,
            after_seq=after_seq,
            newest_first=newest_first,
            limit=limit,
        )
        return [self.message_out(row) for row in rows]

    async def append(
        self, thread: Thread, messages: list[NewMessage], *, run_id: uuid.UUID | None
    ) -> list[MessageOut]:
        """Add messages at the end of the thread (rows are never rewritten)."""
        if not messages:
            return []
        now = utcnow()
        first = await repository.reserve_seqs(self.db, thread, len(messages), now)
        rows, shown = [], []
        for offset, message in enumerate(messages):
            row, out = stored_message(
                self.codec, message, thread_id=thread.id, seq=first + offset, run_id=run_id, now=now
            )
            rows.append(row)
            shown.append(out)
        await self.db.execute(insert(Message), rows)
        if thread.title is None:
            first_user = next((m for m in messages if m.role == "user" and m.content), None)
            if first_user is not None and first_user.content is not None:
                thread.title = self.codec.encode(title_from(first_user.content))
        await self.db.flush()
        return shown

    async def threads_out(self, threads: Sequence[Thread]) -> list[ThreadOut]:
        """Threads as the API shows them, each with its run in progress (if any)."""
        running = await repository.running_runs(self.db, [t.id for t in threads])
        return [self.thread_out(t, active_run_id=running.get(t.id)) for t in threads]

    def thread_out(self, thread: Thread, *, active_run_id: uuid.UUID | None = None) -> ThreadOut:
        # Stored rows are valid by construction: built without validating them again.
        return ThreadOut.model_construct(
            id=thread.id,
            agent_id=thread.agent_id,
            title=None if thread.title is None else self.codec.decode(thread.title),
            created_at=thread.created_at,
            last_activity_at=thread.last_activity_at,
            message_count=thread.message_count,
            active_run_id=active_run_id,
        )

    def message_out(self, row: Message) -> MessageOut:
        return MessageOut(
            id=row.id,
            seq=row.seq,
            role=row.role,
            content=None if row.content is None else self.codec.decode(row.content),
            tool_calls=None
            if row.tool_calls is None
            else [ToolCallOut.model_validate(c) for c in decode_json(self.codec, row.tool_calls)],
            tool_call_id=row.tool_call_id,
            name=row.name,
            run_id=row.run_id,
            created_at=row.created_at,
        )


def stored_message(
    codec: ContentCodec,
    message: NewMessage,
    *,
    thread_id: uuid.UUID,
    seq: int,
    run_id: uuid.UUID | None,
    now: datetime,
) -> tuple[dict[str, Any], MessageOut]:
    """A message as a `messages` row to insert, and as the API shows it once stored."""
    message_id = uuid.uuid4()
    row = {
        "id": message_id,
        "thread_id": thread_id,
        "seq": seq,
        "role": message.role,
        "content": None if message.content is None else codec.encode(message.content),
        "tool_calls": None if not message.tool_calls else encode_json(codec, message.tool_calls),
        "tool_call_id": message.tool_call_id,
        "name": message.name,
        "run_id": run_id,
        "created_at": now,
    }
    shown = MessageOut(
        id=message_id,
        seq=seq,
        role=message.role,
        content=message.content,
        tool_calls=None
        if not message.tool_calls
        else [ToolCallOut.model_validate(call) for call in message.tool_calls],
        tool_call_id=message.tool_call_id,
        name=message.name,
        run_id=run_id,
        created_at=now,
    )
    return row, shown


def title_from(text: str) -> str:
    """A thread title from its first message: one line, at most TITLE_LENGTH characters."""
    line = " ".join(text.split())
    if len(line) <= TITLE_LENGTH:
        return line
    cut = line[: TITLE_LENGTH - 1].rsplit(" ", 1)[0]
    return cut + "…"
