"""Thread rules: ownership, titles, append-only messages. Never commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from confide.audit.service import Origin
from confide.auth.cache import Principal
from confide.db.base import utcnow
from confide.search import filters as search_filters
from confide.search import index as search_index
from confide.storage.codec import ContentCodec, Vault, decode_json, encode_json
from confide.threads import repository
from confide.threads.models import Message, Thread
from confide.threads.schemas import (
    MessageOut,
    ThreadOut,
    ThreadOwner,
    ToolCallOut,
    openai_message,
)
from confide.threads.visibility import Access, access_of, audit_read, reads_any, refuse_write

# Raised by the runs feature too, which imports it from here.
from confide.threads.visibility import ThreadNotFound as ThreadNotFound

TITLE_LENGTH = 80


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
    interrupted: bool = False


class Readable(NamedTuple):
    """A thread the caller may read, with its owner, and how the caller may read it.

    A tuple rather than a frozen dataclass: a listing makes one per thread."""

    thread: Thread
    owner: ThreadOwner
    access: Access


def owner_of(principal: Principal) -> ThreadOwner:
    """The caller, as the `owner` of their own threads."""
    return ThreadOwner.model_construct(
        id=principal.user_id, email=principal.email, display_name=principal.display_name
    )


class ThreadService:
    def __init__(self, db: AsyncSession, *, vault: Vault, origin: Origin | None = None) -> None:
        self.db = db
        self.vault = vault
        self.origin = origin  # where the request came from, for the reads the trail keeps

    async def create(
        self, principal: Principal, *, agents: AgentCatalog, agent_id: str | None, title: str | None
    ) -> Thread:
        agent = agents.get_for(principal, agent_id) if agent_id else agents.default_for(principal)
        now = utcnow()
        thread_id = uuid.uuid4()
        codec = await self.vault.codec(self.db, principal.user_id)
        thread = Thread(
            id=thread_id,
            owner_id=principal.user_id,
            agent_id=agent.id,
            title=seal_title(codec, thread_id, title) if title else None,
            created_at=now,
            last_activity_at=now,
            message_count=0,
        )
        self.db.add(thread)
        await self.db.flush()
        await search_index.set_title(self.db, codec, thread_id=thread_id, title=title, now=now)
        return thread

    async def owned(self, principal: Principal, thread_id: uuid.UUID) -> Thread:
        """The caller's own thread, for a change: 403 `read_only` for one they may only
        read, and anyone else's is indistinguishable from a missing one."""
        thread = await repository.get_owned(
            self.db, owner_id=principal.user_id, thread_id=thread_id
        )
        if thread is None:
            raise await refuse_write(self.db, principal, thread_id)
        return thread

    async def readable(self, principal: Principal, thread_id: uuid.UUID) -> Readable:
        """A thread the caller may read (their own, one shared with them, or any with
        `threads:read:any`, audited); any other is indistinguishable from a missing one."""
        found = await repository.get_readable(
            self.db,
            user_id=principal.user_id,
            thread_id=thread_id,
            any_thread=reads_any(principal),
        )
        if found is None:
            raise ThreadNotFound
        thread, shared, email, display_name = found
        access = access_of(principal, owner_id=thread.owner_id, shared=bool(shared))
        await audit_read(self.db, principal, access, thread_id=thread.id, origin=self.origin)
        owner = ThreadOwner.model_construct(
            id=thread.owner_id, email=email, display_name=display_name
        )
        return Readable(thread=thread, owner=owner, access=access)

    async def list_threads(
        self,
        principal: Principal,
        *,
        shared: bool = False,
        agent_id: str | None,
        q: str | None,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[Readable]:
        """The caller's own threads, or (`shared`) those shared with them; never others',
        `threads:read:any` or not."""
        if not shared:
            me = owner_of(principal)
            rows = await repository.list_owned(
                self.db,
                owner_id=principal.user_id,
                agent_id=agent_id,
                q=await search_filters.tokens_for_owners(
                    self.db, self.vault, owner_ids=[principal.user_id], q=q
                ),
                after=after,
                limit=limit,
            )
            return [Readable(t, me, Access.OWNER) for t in rows]
        tokens = await search_filters.shared_threads_tokens(
            self.db, self.vault, user_id=principal.user_id, q=q
        )
        found = await repository.list_shared(
            self.db,
            user_id=principal.user_id,
            agent_id=agent_id,
            q=tokens,
            after=after,
            limit=limit,
        )
        owners: dict[uuid.UUID, ThreadOwner] = {}
        listed = []
        for thread, owner_id, email, display_name in found:
            owner = owners.get(owner_id)
            if owner is None:
                owner = owners[owner_id] = ThreadOwner.model_construct(
                    id=owner_id, email=email, display_name=display_name
                )
            listed.append(Readable(thread, owner, Access.SHARED))
        return listed

    async def rename(self, principal: Principal, thread_id: uuid.UUID, title: str) -> Thread:
        """Rename the caller's own thread."""
        thread = await self.owned(principal, thread_id)
        codec = await self.vault.codec(self.db, principal.user_id)
        thread.title = seal_title(codec, thread.id, title)
        await self.db.flush()
        await search_index.set_title(self.db, codec, thread_id=thread.id, title=title)
        return thread

    async def delete(self, principal: Principal, thread_id: uuid.UUID) -> None:
        """Delete the caller's thread; its messages, runs and shares go with it."""
        thread = await self.owned(principal, thread_id)
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
        """A page of the messages of a thread the caller may read (as `readable` decides,
        checked without loading the thread or its owner: a page shows neither)."""
        seen = await repository.reader_access(
            self.db, user_id=principal.user_id, thread_id=thread_id, any_thread=reads_any(principal)
        )
        if seen is None:
            raise ThreadNotFound
        owner_id, shared = seen
        access = access_of(principal, owner_id=owner_id, shared=shared)
        await audit_read(self.db, principal, access, thread_id=thread_id, origin=self.origin)
        rows = await repository.list_messages(
            self.db,
            thread_id=thread_id,
            after_seq=after_seq,
            newest_first=newest_first,
            limit=limit,
        )
        codec = await self.vault.codec(self.db, owner_id)
        return [message_out(codec, row) for row in rows]

    async def append(
        self, thread: Thread, messages: list[NewMessage], *, run_id: uuid.UUID | None
    ) -> list[MessageOut]:
        """Add messages at the end of the thread (rows are never rewritten)."""
        stored = await MessageLog(self.vault).append(
            self.db, owner_id=thread.owner_id, thread_id=thread.id, messages=messages, run_id=run_id
        )
        await self.db.refresh(thread)
        return stored or []

    async def threads_out(self, listed: Sequence[Readable]) -> list[ThreadOut]:
        """Threads as the API shows them, each with its run in progress (if any)."""
        running = await repository.running_runs(self.db, [r.thread.id for r in listed])
        codecs: dict[uuid.UUID, ContentCodec] = {}
        for r in listed:
            if r.thread.owner_id not in codecs:
                codecs[r.thread.owner_id] = await self.vault.codec(self.db, r.thread.owner_id)
        return [
            thread_out(
                codecs[r.thread.owner_id],
                r.thread,
                owner=r.owner,
                shared=r.access is Access.SHARED,
                active_run_id=running.get(r.thread.id),
            )
            for r in listed
        ]

    async def thread_out(self, thread: Thread, *, owner: ThreadOwner) -> ThreadOut:
        """The caller's own thread as the API shows it (no run in progress: just made)."""
        return thread_out(await self.vault.codec(self.db, thread.owner_id), thread, owner=owner)


def thread_out(
    codec: ContentCodec,
    thread: Thread,
    *,
    owner: ThreadOwner,
    shared: bool = False,
    active_run_id: uuid.UUID | None = None,
) -> ThreadOut:
    """A thread as the API shows it, its title opened with its owner's codec."""
    title = thread.title
    return trusted_thread_out(
        {
            "id": thread.id,
            "agent_id": thread.agent_id,
            "title": None if title is None else open_title(codec, thread.id, title),
            "created_at": thread.created_at,
            "last_activity_at": thread.last_activity_at,
            "message_count": thread.message_count,
            "active_run_id": active_run_id,
            "owner": owner,
            "shared": shared,
        }
    )


def message_out(codec: ContentCodec, row: Message) -> MessageOut:
    """A stored message as the API shows it, opened with its thread owner's codec."""
    return MessageOut(
        id=row.id,
        seq=row.seq,
        role=row.role,
        content=None if row.content is None else open_content(codec, row.id, row.content),
        tool_calls=None
        if row.tool_calls is None
        else [
            ToolCallOut.model_validate(c) for c in open_tool_calls(codec, row.id, row.tool_calls)
        ],
        tool_call_id=row.tool_call_id,
        name=row.name,
        run_id=row.run_id,
        interrupted=row.interrupted,
        created_at=row.created_at,
    )


# Where each piece of a thread is sealed: the envelope's associated data names the table,
# the column and the row, so a value copied elsewhere does not open (crypto/vault.py).
def seal_title(codec: ContentCodec, thread_id: uuid.UUID, title: str) -> bytes:
    return codec.encode(title, table="threads", column="title", row_id=thread_id)


def open_title(codec: ContentCodec, thread_id: uuid.UUID, stored: bytes) -> str:
    return codec.decode(stored, table="threads", column="title", row_id=thread_id)


def open_content(codec: ContentCodec, message_id: uuid.UUID, stored: bytes) -> str:
    return codec.decode(stored, table="messages", column="content", row_id=message_id)


def open_tool_calls(codec: ContentCodec, message_id: uuid.UUID, stored: bytes) -> Any:
    return decode_json(codec, stored, table="messages", column="tool_calls", row_id=message_id)


_THREAD_OUT_FIELDS = frozenset(ThreadOut.model_fields)
_set_attribute = object.__setattr__


def trusted_thread_out(values: dict[str, Any]) -> ThreadOut:
    """A `ThreadOut` from stored values, which are valid by construction: not validated
    again. It does what `model_construct` does for a model with every field given and no
    aliases, without its per-field alias and default handling: 1.3 us a thread instead of
    7.4, about 300 us of CPU off each GET /api/threads page of 50 (README "Figures").
    tests/threads/test_thread_out.py holds it equal to a validated `ThreadOut`."""
    out = ThreadOut.__new__(ThreadOut)
    _set_attribute(out, "__dict__", values)
    _set_attribute(out, "__pydantic_fields_set__", set(_THREAD_OUT_FIELDS))
    _set_attribute(out, "__pydantic_extra__", None)
    _set_attribute(out, "__pydantic_private__", None)
    return out


class MessageLog:
    """The one path messages take into (and out of) a thread's history, through the codec.

    Works on a request's session or on a connection outside a request (`Database.begin()`);
    never commits."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault

    async def append(
        self,
        db: repository.Executor,
        *,
        owner_id: uuid.UUID,
        thread_id: uuid.UUID,
        messages: Sequence[NewMessage],
        run_id: uuid.UUID | None,
        now: datetime | None = None,
    ) -> list[MessageOut] | None:
        """Add messages at the thread's end, numbered after its last (None: no such thread,
        e.g. deleted meanwhile). The first user message also titles an untitled thread."""
        if not messages:
            return []
        now = now or utcnow()
        codec = await self.vault.codec(db, owner_id)
        first_user = next((m.content for m in messages if m.role == "user" and m.content), None)
        title = None if first_user is None else seal_title(codec, thread_id, title_from(first_user))
        first = await repository.claim_positions(
            db, thread_id=thread_id, count=len(messages), now=now, title=title
        )
        if first is None:
            return None
        rows, shown = [], []
        for offset, message in enumerate(messages):
            row, out = stored_message(
                codec, message, thread_id=thread_id, seq=first + offset, run_id=run_id, now=now
            )
            rows.append(row)
            shown.append(out)
        await repository.insert_messages(db, rows)
        await search_index.add_messages(db, codec, thread_id=thread_id, messages=shown)
        await search_index.title_from_message(
            db,
            codec,
            thread_id=thread_id,
            sealed=title,
            title=first_user and title_from(first_user),
        )
        return shown

    async def recent(
        self,
        db: repository.Executor,
        *,
        owner_id: uuid.UUID,
        thread_id: uuid.UUID,
        budget_tokens: int,
    ) -> list[dict[str, Any]]:
        """The newest messages that fit in `budget_tokens` (by `estimate_tokens`), oldest
        first, in OpenAI's format. The window starts at a user message, so no tool call is
        ever cut from its result; older messages are not read at all."""
        codec = await self.vault.codec(db, owner_id)
        window: list[dict[str, Any]] = []
        spent = 0
        before = 2**31 - 1
        full = False
        while not full:
            rows = await repository.history_page(
                db, thread_id=thread_id, before_seq=before, limit=HISTORY_PAGE
            )
            for message_id, seq, role, content, tool_calls, tool_call_id, name in rows:
                message = openai_message(
                    role,
                    None if content is None else open_content(codec, message_id, content),
                    None if tool_calls is None else open_tool_calls(codec, message_id, tool_calls),
                    tool_call_id,
                )
                if name is not None and role == "tool":
                    message["name"] = name
                spent += estimate_tokens(message)
                if spent > budget_tokens:
                    full = True
                    break
                window.append(message)
                before = seq
            if len(rows) < HISTORY_PAGE:
                break
        window.reverse()
        if full:  # cut at a turn's start: drop what precedes the oldest user message kept
            start = next((i for i, m in enumerate(window) if m["role"] == "user"), len(window))
            window = window[start:]
        return window

    async def unanswered_calls(
        self, db: repository.Executor, *, owner_id: uuid.UUID, thread_id: uuid.UUID
    ) -> list[tuple[str, str | None]]:
        """Tool calls of the thread's last assistant turn that have no tool message yet."""
        turn = await repository.last_call_turn(db, thread_id=thread_id)
        if turn is None:
            return []
        message_id, seq, stored_calls = turn
        codec = await self.vault.codec(db, owner_id)
        calls: list[dict[str, Any]] = open_tool_calls(codec, message_id, stored_calls)
        answered = await repository.answered_call_ids(db, thread_id=thread_id, after_seq=seq)
        return [
            (call["id"], call.get("function", {}).get("name"))
            for call in calls
            if call["id"] not in answered
        ]


# Messages read per query while filling a context window, newest first.
HISTORY_PAGE = 200
# The estimate: about four characters a token for English text and JSON, plus a few tokens
# of framing per message (role, separators), as OpenAI's own guidance counts them.
CHARS_PER_TOKEN = 4
TOKENS_PER_MESSAGE = 4


def estimate_tokens(message: dict[str, Any]) -> int:
    """A cheap, tokenizer-free estimate of what a message costs in a model's context."""
    chars = len(message.get("content") or "")
    for call in message.get("tool_calls") or ():
        function = call.get("function", {})
        chars += len(function.get("name", "")) + len(function.get("arguments", ""))
    return TOKENS_PER_MESSAGE + -(-chars // CHARS_PER_TOKEN)


def estimate_text_tokens(text: str) -> int:
    return -(-len(text) // CHARS_PER_TOKEN)


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
        "content": None
        if message.content is None
        else codec.encode(message.content, table="messages", column="content", row_id=message_id),
        "tool_calls": None
        if not message.tool_calls
        else encode_json(
            codec, message.tool_calls, table="messages", column="tool_calls", row_id=message_id
        ),
        "tool_call_id": message.tool_call_id,
        "name": message.name,
        "run_id": run_id,
        "interrupted": message.interrupted,
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
        interrupted=message.interrupted,
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
