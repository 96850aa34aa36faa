"""Every query of the threads feature. Reads of user-owned rows always filter by owner, or,
on the read paths only, by owner or share (`readable`); writes always filter by owner."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVarTuple

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Exists,
    Integer,
    LargeBinary,
    Row,
    Select,
    bindparam,
    case,
    delete,
    exists,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy import Uuid as Uuid
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from confide.auth.models import User
from confide.db.keyset import newest_first_page
from confide.folders.filters import EVERY_UNARCHIVED, Shelf
from confide.runs.models import IS_ACTIVE, Run
from confide.search.filters import WordTokens
from confide.search.models import SearchTerm
from confide.threads.models import Message, Thread, ThreadShare

# Repositories run on a request's session or, outside a request, on a `Database.begin()`
# connection: Core statements work on both.
Executor = AsyncConnection | AsyncSession


async def get_owned(
    db: AsyncSession, *, owner_id: uuid.UUID, thread_id: uuid.UUID
) -> Thread | None:
    stmt = select(Thread).where(Thread.id == thread_id, Thread.owner_id == owner_id)
    return (await db.execute(stmt)).scalar_one_or_none()


_OWNED_AGENT = select(Thread.agent_id).where(
    Thread.id == bindparam("b_thread"), Thread.owner_id == bindparam("b_owner")
)


_ACTIVE_LEAF = select(Thread.active_leaf_id).where(Thread.id == bindparam("b_thread"))


async def active_leaf(db: Executor, *, thread_id: uuid.UUID) -> uuid.UUID | None:
    """The end of the thread's active path (None: no messages, or no such thread)."""
    return (await db.execute(_ACTIVE_LEAF, {"b_thread": thread_id})).scalar_one_or_none()


_OWNED_HEAD = select(Thread.agent_id, Thread.active_leaf_id).where(
    Thread.id == bindparam("b_thread"), Thread.owner_id == bindparam("b_owner")
)


async def owned_head(
    db: Executor, *, owner_id: uuid.UUID, thread_id: uuid.UUID
) -> tuple[str, uuid.UUID | None] | None:
    """The agent and active leaf of the owner's thread (None: no such thread, or someone
    else's)."""
    params = {"b_thread": thread_id, "b_owner": owner_id}
    row = (await db.execute(_OWNED_HEAD, params)).one_or_none()
    return None if row is None else (row[0], row[1])


async def owned_agent_id(db: Executor, *, owner_id: uuid.UUID, thread_id: uuid.UUID) -> str | None:
    """The agent of the owner's thread (None: no such thread, or someone else's)."""
    params = {"b_thread": thread_id, "b_owner": owner_id}
    return (await db.execute(_OWNED_AGENT, params)).scalar_one_or_none()


def shared_with(user_id: Any) -> Exists:
    """The thread (`Thread.id` of the enclosing query) is shared with this user."""
    return exists().where(ThreadShare.thread_id == Thread.id, ThreadShare.user_id == user_id)


def readable(user_id: Any) -> ColumnElement[bool]:
    """The threads a user may read without `threads:read:any`: their own and those shared
    with them. Only the read paths use it; writes filter by owner alone."""
    return or_(Thread.owner_id == user_id, shared_with(user_id))


Ts = TypeVarTuple("Ts")


def _filtered(stmt: Select[*Ts], *, agent_id: str | None, q: WordTokens | None) -> Select[*Ts]:
    if agent_id is not None:
        stmt = stmt.where(Thread.agent_id == agent_id)
    if q is not None:  # through the blind index (search/filters.py): every word must match
        if not q:
            return stmt.where(false())
        for tokens in q:
            stmt = stmt.where(
                exists().where(
                    SearchTerm.user_id == Thread.owner_id,
                    SearchTerm.token.in_(tokens),
                    SearchTerm.thread_id == Thread.id,
                )
            )
    return stmt


async def list_owned(
    db: AsyncSession,
    *,
    owner_id: uuid.UUID,
    agent_id: str | None,
    q: WordTokens | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
    shelf: Shelf = EVERY_UNARCHIVED,
) -> Sequence[Thread]:
    """The owner's threads `shelf` picks, newest activity first, keyset on
    (last_activity_at, id)."""
    stmt = shelf.apply(select(Thread).where(Thread.owner_id == owner_id))
    stmt = _filtered(stmt, agent_id=agent_id, q=q)
    stmt = newest_first_page(
        stmt, time=Thread.last_activity_at, key=Thread.id, after=after, limit=limit
    )
    return (await db.execute(stmt)).scalars().all()


async def list_shared(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    agent_id: str | None,
    q: WordTokens | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[Row[Thread, uuid.UUID, str, str | None]]:
    """The threads shared with a user, newest activity first, keyset on (last_activity_at,
    id): (thread, owner id, owner email, owner display name)."""
    stmt = (
        select(Thread, User.id, User.email, User.display_name)
        .join(ThreadShare, ThreadShare.thread_id == Thread.id)
        .join(User, User.id == Thread.owner_id)
        .where(ThreadShare.user_id == user_id)
    )
    stmt = newest_first_page(
        _filtered(stmt, agent_id=agent_id, q=q),
        time=Thread.last_activity_at,
        key=Thread.id,
        after=after,
        limit=limit,
    )
    return (await db.execute(stmt)).all()


_READABLE_ANY = (
    select(Thread, shared_with(bindparam("b_user")).label("shared"), User.email, User.display_name)
    .join(User, User.id == Thread.owner_id)
    .where(Thread.id == bindparam("b_thread"))
)
_READABLE = _READABLE_ANY.where(readable(bindparam("b_user")))


async def get_readable(
    db: AsyncSession, *, user_id: uuid.UUID, thread_id: uuid.UUID, any_thread: bool
) -> Row[Thread, bool, str, str | None] | None:
    """A thread the user may read (their own, one shared with them, or with `any_thread`
    any at all): (thread, shared with the user, owner email, owner display name)."""
    stmt = _READABLE_ANY if any_thread else _READABLE
    params = {"b_user": user_id, "b_thread": thread_id}
    return (await db.execute(stmt, params)).one_or_none()


# Built once: a thread's message page runs it on every request (a statement built per call
# cost more CPU than the query; chat_bench "newest 50 of 5,000 messages").
_READER_ACCESS_ANY = select(
    Thread.owner_id, shared_with(bindparam("b_user")), Thread.active_leaf_id
).where(Thread.id == bindparam("b_thread"))
_READER_ACCESS = _READER_ACCESS_ANY.where(readable(bindparam("b_user")))


async def reader_access(
    db: Executor, *, user_id: uuid.UUID, thread_id: uuid.UUID, any_thread: bool
) -> tuple[uuid.UUID, bool, uuid.UUID | None] | None:
    """For a thread the user may read: (its owner, whether it is shared with the user, its
    active leaf); None for one they may not (or none at all)."""
    stmt = _READER_ACCESS_ANY if any_thread else _READER_ACCESS
    params = {"b_user": user_id, "b_thread": thread_id}
    row = (await db.execute(stmt, params)).one_or_none()
    return None if row is None else (row[0], bool(row[1]), row[2])


# Shares. Only the owner's paths call these, after checking the thread is theirs.


async def user_by_email_key(db: AsyncSession, key: str) -> uuid.UUID | None:
    return (await db.execute(select(User.id).where(User.email_key == key))).scalar_one_or_none()


async def is_verified(db: AsyncSession, user_id: uuid.UUID) -> bool:
    found = await db.scalar(select(User.email_verified_at).where(User.id == user_id))
    return found is not None


async def add_share(
    db: AsyncSession,
    *,
    thread_id: uuid.UUID,
    owner_id: uuid.UUID,
    email_key: str,
    now: datetime,
    verified_only: bool = False,
) -> tuple[uuid.UUID, uuid.UUID] | None:
    """Share the owner's thread with the user of this email key, unless there is none, it is
    the owner, or the thread is already shared with them: (share id, recipient id) when a
    share was made. One statement whichever it is, so each case costs the same."""
    columns = ThreadShare.__table__.c
    rows = select(
        literal(uuid.uuid4(), columns.id.type),
        literal(thread_id, columns.thread_id.type),
        User.id,
        literal(now, columns.created_at.type),
    ).where(
        User.email_key == email_key,
        User.id != owner_id,
        ~exists().where(ThreadShare.thread_id == thread_id, ThreadShare.user_id == User.id),
    )
    if verified_only:  # an account whose email is not verified receives no shares
        rows = rows.where(User.email_verified_at.is_not(None))
    stmt = (
        insert(ThreadShare)
        .from_select(["id", "thread_id", "user_id", "created_at"], rows)
        .returning(ThreadShare.id, ThreadShare.user_id)
    )
    try:
        async with db.begin_nested():
            made = (await db.execute(stmt)).one_or_none()
    except IntegrityError:  # shared with them concurrently
        return None
    return made


async def list_shares(
    db: AsyncSession,
    *,
    thread_id: uuid.UUID,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[Row[ThreadShare, str, str | None]]:
    """A thread's shares, newest first: (share, recipient email, recipient display name)."""
    stmt = (
        select(ThreadShare, User.email, User.display_name)
        .join(User, User.id == ThreadShare.user_id)
        .where(ThreadShare.thread_id == thread_id)
    )
    stmt = newest_first_page(
        stmt, time=ThreadShare.created_at, key=ThreadShare.id, after=after, limit=limit
    )
    return (await db.execute(stmt)).all()


async def remove_share(
    db: AsyncSession, *, thread_id: uuid.UUID, share_id: uuid.UUID
) -> uuid.UUID | None:
    """Delete one share of the thread; the recipient's id, or None when there is none."""
    stmt = (
        delete(ThreadShare)
        .where(ThreadShare.id == share_id, ThreadShare.thread_id == thread_id)
        .returning(ThreadShare.user_id)
    )
    return (await db.execute(stmt)).scalar_one_or_none()


# Built once: fifty UUIDs coerced into an IN clause per request cost more than the query.
_RUNNING_IN = select(Run.thread_id, Run.id).where(
    Run.thread_id.in_(bindparam("thread_ids", expanding=True)), IS_ACTIVE
)


async def running_runs(
    db: AsyncSession, thread_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    """The run in progress of each of these threads that has one (at most one each)."""
    if not thread_ids:
        return {}
    rows = await db.execute(_RUNNING_IN, {"thread_ids": list(thread_ids)})
    return {thread_id: run_id for thread_id, run_id in rows.all()}


# The one numbering rule: a thread's messages take the positions after its `message_count`,
# claimed in the same statement that bumps it (and its activity, the title from the first
# user message, and its active leaf: moved to the new messages when they continue the active
# path, or when `b_activate` says so). Built once: it runs on every turn.
_CLAIM = (
    update(Thread)
    .where(Thread.id == bindparam("b_thread"))
    .values(
        message_count=Thread.message_count + bindparam("b_count", type_=Integer()),
        last_activity_at=bindparam("b_now"),
        title=func.coalesce(Thread.title, bindparam("b_title", type_=LargeBinary())),
        active_leaf_id=case(
            (
                or_(
                    bindparam("b_activate", type_=Boolean()),
                    Thread.active_leaf_id.is_not_distinct_from(bindparam("b_parent", type_=Uuid())),
                ),
                bindparam("b_leaf", type_=Uuid()),
            ),
            else_=Thread.active_leaf_id,
        ),
    )
    .returning(Thread.message_count, Thread.title)
)
_INSERT_MESSAGES = insert(Message)
_LAST_CALL_TURN = (
    select(Message.id, Message.seq, Message.tool_calls)
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
    db: Executor,
    *,
    thread_id: uuid.UUID,
    count: int,
    now: datetime,
    title: bytes | None,
    parent_id: uuid.UUID | None,
    leaf_id: uuid.UUID,
    activate: bool,
) -> tuple[int, bool] | None:
    """Claim `count` positions for messages that hang from `parent_id` and end at `leaf_id`:
    the first, and whether `title` (stored form) became the thread's (None: no such thread).
    The title is set only if the thread has none yet (a sealed title is never the same bytes
    twice: its nonce is random, so the thread's title is these bytes only if this set it);
    the active leaf moves to `leaf_id` if it was `parent_id` (or `activate`)."""
    claimed = await db.execute(
        _CLAIM,
        {
            "b_thread": thread_id,
            "b_count": count,
            "b_now": now,
            "b_title": title,
            "b_parent": parent_id,
            "b_leaf": leaf_id,
            "b_activate": activate,
        },
    )
    row = claimed.one_or_none()
    if row is None:
        return None
    last, stored = row
    return int(last) - count + 1, title is not None and stored == title


async def insert_messages(db: Executor, rows: list[dict[str, Any]]) -> None:
    await db.execute(_INSERT_MESSAGES, rows)


async def last_call_turn(db: Executor, *, thread_id: uuid.UUID) -> Any:
    """The thread's last assistant message that called tools: (id, seq, tool_calls)."""
    return (await db.execute(_LAST_CALL_TURN, {"b_thread": thread_id})).one_or_none()


async def answered_call_ids(db: Executor, *, thread_id: uuid.UUID, after_seq: int) -> set[str]:
    rows = await db.execute(_ANSWERED, {"b_thread": thread_id, "b_after": after_seq})
    return {call_id for call_id in rows.scalars() if call_id is not None}
