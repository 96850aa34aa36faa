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
from confide.errors import Conflict, NotFound
from confide.folders.filters import EVERY_UNARCHIVED, Shelf
from confide.search import filters as search_filters
from confide.search import index as search_index
from confide.storage.codec import ContentCodec, Vault, decode_json, encode_json
from confide.threads import paths, repository
from confide.threads.attachments import Attachments, NoAttachments
from confide.threads.models import TITLE_BY_USER, TITLE_FIRST_WORDS, Message, Thread
from confide.threads.schemas import (
    MessageOut,
    MessageUsage,
    ThreadOut,
    ThreadOwner,
    ToolCallOut,
    ToolOutcome,
    openai_message,
)
from confide.threads.visibility import Access, access_of, audit_read, reads_any, refuse_write

# Raised by the runs feature too, which imports it from here.
from confide.threads.visibility import ThreadNotFound as ThreadNotFound
from confide.usage.columns import tool_of, usage_columns, usage_of

TITLE_LENGTH = 80


class MessageNotFound(NotFound):
    code = "message_not_found"
    title = "No such message in this thread"


class InvalidParent(Conflict):
    code = "invalid_parent"
    title = "A message cannot follow this one"


class _ActiveLeaf:
    """`MessageLog.append`'s default parent: the end of the thread's active path."""


ACTIVE_LEAF = _ActiveLeaf()


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
    usage: MessageUsage | None = None  # an assistant message's model request
    tool: ToolOutcome | None = None  # a tool message's call


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
    def __init__(
        self,
        db: AsyncSession,
        *,
        vault: Vault,
        origin: Origin | None = None,
        attachments: Attachments | None = None,
    ) -> None:
        self.db = db
        self.vault = vault
        self.origin = origin  # where the request came from, for the reads the trail keeps
        self.attachments: Attachments = attachments or NoAttachments()

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
            title_source=TITLE_BY_USER if title else TITLE_FIRST_WORDS,
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
        shelf: Shelf = EVERY_UNARCHIVED,
    ) -> list[Readable]:
        """The caller's own threads (those `shelf` picks: by default every one not
        archived), or (`shared`) those shared with them; never others', `threads:read:any`
        or not."""
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
                shelf=shelf,
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
        thread.title_source = TITLE_BY_USER  # never replaced by a generated title
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
        path: uuid.UUID | None = None,
        after_seq: int | None,
        newest_first: bool,
        limit: int,
    ) -> list[MessageOut]:
        """A page of one path of a thread the caller may read (as `readable` decides, checked
        without loading the thread or its owner: a page shows neither): the active path, or
        the one through the message `path`. Each message says where it stands among its
        siblings."""
        seen = await repository.reader_access(
            self.db, user_id=principal.user_id, thread_id=thread_id, any_thread=reads_any(principal)
        )
        if seen is None:
            raise ThreadNotFound
        owner_id, shared, leaf_id = seen
        access = access_of(principal, owner_id=owner_id, shared=shared)
        await audit_read(self.db, principal, access, thread_id=thread_id, origin=self.origin)
        if path is not None:
            leaf_id = await paths.resolve_leaf(self.db, thread_id=thread_id, message_id=path)
            if leaf_id is None:
                raise MessageNotFound
        rows = await paths.path_page(
            self.db,
            thread_id=thread_id,
            leaf_id=leaf_id,
            newest_first=newest_first,
            limit=limit,
            before_seq=after_seq if newest_first else None,
            after_seq=None if newest_first else after_seq,
        )
        codec = await self.vault.codec(self.db, owner_id)
        return await page_out(self.db, codec, thread_id, rows, attachments=self.attachments)

    async def set_active(
        self, principal: Principal, thread_id: uuid.UUID, message_id: uuid.UUID
    ) -> Thread:
        """Show and continue the caller's thread along the path through `message_id` (down
        to its newest reply's newest reply, and so on)."""
        thread = await self.owned(principal, thread_id)
        leaf_id = await paths.resolve_leaf(self.db, thread_id=thread.id, message_id=message_id)
        if leaf_id is None:
            raise MessageNotFound
        await paths.set_active(self.db, thread_id=thread.id, leaf_id=leaf_id)
        await self.db.refresh(thread)
        return thread

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
            "active_leaf_id": thread.active_leaf_id,
            "active_run_id": active_run_id,
            "owner": owner,
            "shared": shared,
            # Where the owner keeps it is the owner's own business: not shown to others.
            "folder_id": None if shared else thread.folder_id,
            "pinned": not shared and thread.pinned_at is not None,
            "archived": not shared and thread.archived_at is not None,
        }
    )


async def page_out(
    db: repository.Executor,
    codec: ContentCodec,
    thread_id: uuid.UUID,
    rows: Sequence[Any],
    *,
    attachments: Attachments,
) -> list[MessageOut]:
    """A page of a path's rows as the API shows them: each with its siblings (where a
    question was edited or an answer regenerated) and its files."""
    shown = [message_out(codec, row) for row in rows]
    if not shown:
        return shown
    # Only the rows that have siblings (or are first messages, counted apart) need more.
    branched = {
        row.parent_id
        for row in rows
        if row.parent_id is None or getattr(row, "sibling_count", 2) > 1
    }
    family = await paths.siblings(db, thread_id=thread_id, parent_ids=branched)
    users = [message.id for message in shown if message.role == "user"]
    files = await attachments.refs(db, message_ids=users) if users else {}
    for message in shown:
        place_among(message, family.get(message.parent_id, [message.id]))
        message.files = files.get(message.id, [])
    return shown


def place_among(message: MessageOut, sibling_ids: list[uuid.UUID]) -> None:
    """Say where a message stands among its siblings (itself included, oldest first)."""
    if len(sibling_ids) > 1 and message.id in sibling_ids:
        message.sibling_count = len(sibling_ids)
        message.sibling_index = sibling_ids.index(message.id)
        message.sibling_ids = list(sibling_ids)


def message_out(codec: ContentCodec, row: Message | Any) -> MessageOut:
    """A stored message (a row or a path's row) as the API shows it, opened with its thread
    owner's codec."""
    return MessageOut(
        id=row.id,
        seq=row.seq,
        parent_id=row.parent_id,
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
        usage=usage_of(row),
        tool=tool_of(row),
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

    def __init__(self, vault: Vault, attachments: Attachments | None = None) -> None:
        self.vault = vault
        self.attachments: Attachments = attachments or NoAttachments()

    async def append(
        self,
        db: repository.Executor,
        *,
        owner_id: uuid.UUID,
        thread_id: uuid.UUID,
        messages: Sequence[NewMessage],
        run_id: uuid.UUID | None,
        now: datetime | None = None,
        parent_id: uuid.UUID | _ActiveLeaf | None = ACTIVE_LEAF,
        activate: bool = False,
        branching: bool = False,
        message_ids: Sequence[uuid.UUID] | None = None,
    ) -> list[MessageOut] | None:
        """Add messages to the thread, each following the one before, the first following
        `parent_id` (None: a first message; by default the end of the active path), numbered
        after the thread's last (None: no such thread, e.g. deleted meanwhile). The active
        path moves on to them if it ended at `parent_id`, or if `activate`. `branching`: the
        parent may have other replies already, so the first message says where it stands
        among them. `message_ids`: the new rows' ids, when the caller needs them before. The
        first user message also titles an untitled thread."""
        if not messages:
            return []
        now = now or utcnow()
        if isinstance(parent_id, _ActiveLeaf):
            parent_id = await repository.active_leaf(db, thread_id=thread_id)
        codec = await self.vault.codec(db, owner_id)
        first_user = next((m.content for m in messages if m.role == "user" and m.content), None)
        title = None if first_user is None else seal_title(codec, thread_id, title_from(first_user))
        ids = list(message_ids) if message_ids else [uuid.uuid4() for _ in messages]
        claimed = await repository.claim_positions(
            db,
            thread_id=thread_id,
            count=len(messages),
            now=now,
            title=title,
            parent_id=parent_id,
            leaf_id=ids[-1],
            activate=activate,
        )
        if claimed is None:
            return None
        first, titled = claimed
        rows, shown = [], []
        parent = parent_id
        for offset, message in enumerate(messages):
            row, out = stored_message(
                codec,
                message,
                thread_id=thread_id,
                seq=first + offset,
                run_id=run_id,
                now=now,
                message_id=ids[offset],
                parent_id=parent,
            )
            rows.append(row)
            shown.append(out)
            parent = ids[offset]
        await repository.insert_messages(db, rows)
        if branching:
            family = await paths.siblings(db, thread_id=thread_id, parent_ids=[parent_id])
            place_among(shown[0], family.get(parent_id, []))
        await search_index.add_messages(
            db,
            codec,
            thread_id=thread_id,
            messages=shown,
            title=title_from(first_user) if titled and first_user else None,
            now=now,
        )
        return shown

    async def recent(
        self,
        db: repository.Executor,
        *,
        owner_id: uuid.UUID,
        thread_id: uuid.UUID,
        budget_tokens: int,
        leaf_id: uuid.UUID | _ActiveLeaf | None = ACTIVE_LEAF,
        vision: bool = False,
    ) -> list[dict[str, Any]]:
        """The newest messages of the path ending at `leaf_id` (by default the active one)
        that fit in `budget_tokens` (by `estimate_tokens`), oldest first, in OpenAI's format:
        what the model sees when it answers there, and nothing of any other branch. The
        window starts at a user message, so no tool call is ever cut from its result; older
        messages are not read at all. A user message's files come as content parts after its
        text."""
        if isinstance(leaf_id, _ActiveLeaf):
            leaf_id = await repository.active_leaf(db, thread_id=thread_id)
        codec = await self.vault.codec(db, owner_id)
        window: list[dict[str, Any]] = []
        ids: list[uuid.UUID] = []
        spent = 0
        before: int | None = None
        full = False
        while not full and leaf_id is not None:
            rows = await paths.path_page(
                db,
                thread_id=thread_id,
                leaf_id=leaf_id,
                newest_first=True,
                limit=HISTORY_PAGE,
                before_seq=before,
            )
            for row in rows:
                message = openai_message(
                    row.role,
                    None if row.content is None else open_content(codec, row.id, row.content),
                    None
                    if row.tool_calls is None
                    else open_tool_calls(codec, row.id, row.tool_calls),
                    row.tool_call_id,
                )
                if row.name is not None and row.role == "tool":
                    message["name"] = row.name
                spent += estimate_tokens(message)
                if spent > budget_tokens:
                    full = True
                    break
                window.append(message)
                ids.append(row.id)
                before = row.seq
            if len(rows) < HISTORY_PAGE:
                break
        window.reverse()
        ids.reverse()
        if full:  # cut at a turn's start: drop what precedes the oldest user message kept
            start = next((i for i, m in enumerate(window) if m["role"] == "user"), len(window))
            window, ids = window[start:], ids[start:]
        users = [ids[i] for i, m in enumerate(window) if m["role"] == "user"]
        if users:
            parts = await self.attachments.model_parts(
                db, owner_id=owner_id, message_ids=users, vision=vision
            )
            for i, message_id in enumerate(ids):
                if message_id in parts:
                    text = window[i].get("content") or ""
                    window[i]["content"] = [{"type": "text", "text": text}, *parts[message_id]]
        return window

    async def unanswered_calls(
        self, db: repository.Executor, *, owner_id: uuid.UUID, thread_id: uuid.UUID
    ) -> list[tuple[str, str | None]]:
        """Tool calls of the thread's last assistant turn that have no tool message yet.

        The newest turn by position is the one that matters: while a run is in progress
        nothing else is added to its thread, and every run ends with each of its calls
        answered."""
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

    async def check_parent(
        self,
        db: repository.Executor,
        *,
        owner_id: uuid.UUID,
        thread_id: uuid.UUID,
        parent_id: uuid.UUID,
    ) -> Any:
        """The message a new user message is to follow, if one may: a message of this thread
        after which no tool call is left open (not an assistant turn that called tools, nor a
        tool result its turn's other results do not follow yet). Its row; raises otherwise."""
        row = await paths.message_row(db, thread_id=thread_id, message_id=parent_id)
        if row is None:
            raise MessageNotFound
        if row.role == "assistant" and row.tool_calls is not None:
            raise InvalidParent("Its tool calls' results come first: pick the last of them.")
        if row.role != "tool":
            return row
        codec = await self.vault.codec(db, owner_id)
        answered: set[str] = set()
        for above in await paths.path_page(
            db, thread_id=thread_id, leaf_id=parent_id, newest_first=True, limit=MAX_CALL_SCAN
        ):
            if above.role == "tool":
                answered.add(above.tool_call_id or "")
                continue
            calls = (
                []
                if above.tool_calls is None
                else open_tool_calls(codec, above.id, above.tool_calls)
            )
            if {call["id"] for call in calls} - answered:
                raise InvalidParent("Its turn's other tool results come first: pick the last.")
            return row
        return row


# Messages read per query while filling a context window, newest first.
HISTORY_PAGE = 200
# How far up a path a tool result's turn is looked for (a turn's calls are capped far below).
MAX_CALL_SCAN = 200
# The estimate: about four characters a token for English text and JSON, plus a few tokens
# of framing per message (role, separators), as OpenAI's own guidance counts them.
CHARS_PER_TOKEN = 4
TOKENS_PER_MESSAGE = 4
# An attached image, whatever its size: about what OpenAI bills for one 512 px tile and base.
IMAGE_TOKENS = 255


def estimate_tokens(message: dict[str, Any]) -> int:
    """A cheap, tokenizer-free estimate of what a message costs in a model's context."""
    content = message.get("content") or ""
    images = 0
    if isinstance(content, list):  # parts: the message's text, attached files' text, images
        chars = sum(len(part.get("text") or "") for part in content if part.get("type") == "text")
        images = sum(1 for part in content if part.get("type") == "image_url")
    else:
        chars = len(content)
    for call in message.get("tool_calls") or ():
        function = call.get("function", {})
        chars += len(function.get("name", "")) + len(function.get("arguments", ""))
    return TOKENS_PER_MESSAGE + images * IMAGE_TOKENS + -(-chars // CHARS_PER_TOKEN)


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
    message_id: uuid.UUID | None = None,
    parent_id: uuid.UUID | None = None,
) -> tuple[dict[str, Any], MessageOut]:
    """A message as a `messages` row to insert, and as the API shows it once stored."""
    message_id = message_id or uuid.uuid4()
    row = {
        "id": message_id,
        "thread_id": thread_id,
        "seq": seq,
        "parent_id": parent_id,
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
        **usage_columns(message.usage, message.tool),
    }
    shown = MessageOut(
        id=message_id,
        seq=seq,
        parent_id=parent_id,
        role=message.role,
        content=message.content,
        tool_calls=None
        if not message.tool_calls
        else [ToolCallOut.model_validate(call) for call in message.tool_calls],
        tool_call_id=message.tool_call_id,
        name=message.name,
        run_id=run_id,
        interrupted=message.interrupted,
        usage=message.usage,
        tool=message.tool,
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
