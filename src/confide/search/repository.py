"""Every query on `search_terms`. Reads always filter by the user whose tokens they hold."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    Float,
    bindparam,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from confide.search.models import TITLE_SEQ, SearchTerm
from confide.threads.models import Message, Thread, ThreadShare

Executor = AsyncConnection | AsyncSession
INSERT_BATCH = 2000  # rows per INSERT: well under SQLite's and asyncpg's parameter limits

_INSERT = insert(SearchTerm)
_DELETE_TITLE = delete(SearchTerm).where(
    SearchTerm.thread_id == bindparam("b_thread"), SearchTerm.seq == TITLE_SEQ
)
_DELETE_THREAD = delete(SearchTerm).where(SearchTerm.thread_id == bindparam("b_thread"))


async def insert_terms(db: Executor, rows: Sequence[dict[str, Any]]) -> None:
    """Add index rows (none: nothing to do)."""
    for start in range(0, len(rows), INSERT_BATCH):
        await db.execute(_INSERT, list(rows[start : start + INSERT_BATCH]))


async def delete_title(db: Executor, *, thread_id: uuid.UUID) -> None:
    await db.execute(_DELETE_TITLE, {"b_thread": thread_id})


async def delete_thread(db: Executor, *, thread_id: uuid.UUID) -> None:
    await db.execute(_DELETE_THREAD, {"b_thread": thread_id})


async def document_count(db: Executor, *, user_id: uuid.UUID) -> int:
    """About how many documents (titles and messages) the user's index covers."""
    stmt = select(func.count(), func.coalesce(func.sum(Thread.message_count), 0)).where(
        Thread.owner_id == user_id
    )
    threads, messages = (await db.execute(stmt)).one()
    return int(threads) + int(messages)


async def document_frequencies(
    db: Executor, *, user_id: uuid.UUID, tokens: Sequence[bytes]
) -> dict[bytes, int]:
    """How many of the user's documents hold each token (absent: none)."""
    stmt = (
        select(SearchTerm.token, func.count())
        .where(SearchTerm.user_id == user_id, SearchTerm.token.in_(tokens))
        .group_by(SearchTerm.token)
    )
    return {bytes(token): int(count) for token, count in (await db.execute(stmt)).all()}


# tf / (tf + K): a second occurrence of a word counts for less than the first (BM25's
# saturation, without its length normalisation: the index keeps no document lengths).
TF_SATURATION = 1.2


async def ranked_documents(
    db: Executor,
    *,
    user_id: uuid.UUID,
    weights: Mapping[bytes, float],
    offset: int,
    limit: int,
) -> Sequence[Any]:
    """The user's documents holding any of the tokens, best first: most distinct tokens,
    then the sum of each token's weight times its saturated frequency, then the newest.
    Rows: (thread_id, seq, message_id, created_at, matched, score)."""
    tf = cast(SearchTerm.tf, Float)
    weight = case(
        *[(SearchTerm.token == token, literal(w, Float)) for token, w in weights.items()],
        else_=literal(0.0, Float),
    )
    matched = func.count().label("matched")
    score = func.sum(weight * tf / (tf + TF_SATURATION)).label("score")
    stmt = (
        select(
            SearchTerm.thread_id,
            SearchTerm.seq,
            SearchTerm.message_id,
            SearchTerm.created_at,
            matched,
            score,
        )
        .where(SearchTerm.user_id == user_id, SearchTerm.token.in_(list(weights)))
        .group_by(
            SearchTerm.thread_id, SearchTerm.seq, SearchTerm.message_id, SearchTerm.created_at
        )
        .order_by(
            matched.desc(),
            score.desc(),
            SearchTerm.created_at.desc(),
            SearchTerm.seq.desc(),  # a message stored with others: the later one
            SearchTerm.thread_id,
        )
        .offset(offset)
        .limit(limit)
    )
    return (await db.execute(stmt)).all()


async def owned_titles(
    db: Executor, *, owner_id: uuid.UUID, thread_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Any]:
    """The stored titles of these threads of the owner (others' are left out)."""
    stmt = select(Thread.id, Thread.title).where(
        Thread.id.in_(thread_ids), Thread.owner_id == owner_id
    )
    return {thread_id: title for thread_id, title in (await db.execute(stmt)).all()}


async def messages_by_id(
    db: Executor, *, thread_ids: Sequence[uuid.UUID], message_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Any]:
    """(id, role, stored content) of these messages, if in these threads."""
    stmt = select(Message.id, Message.role, Message.content).where(
        Message.id.in_(message_ids), Message.thread_id.in_(thread_ids)
    )
    return {row.id: row for row in (await db.execute(stmt)).all()}


# The reindex walks everything a user owns, a page at a time.


async def owned_thread_page(
    db: Executor, *, owner_id: uuid.UUID, after: uuid.UUID | None, limit: int
) -> Sequence[Any]:
    """(id, title, created_at) of the owner's threads, by id."""
    stmt = select(Thread.id, Thread.title, Thread.created_at).where(Thread.owner_id == owner_id)
    if after is not None:
        stmt = stmt.where(Thread.id > after)
    return (await db.execute(stmt.order_by(Thread.id).limit(limit))).all()


async def message_page(
    db: Executor, *, thread_id: uuid.UUID, roles: Sequence[str], after_seq: int, limit: int
) -> Sequence[Any]:
    """(id, seq, role, stored content, created_at) of a thread's messages with text."""
    stmt = (
        select(Message.id, Message.seq, Message.role, Message.content, Message.created_at)
        .where(
            Message.thread_id == thread_id,
            Message.seq > after_seq,
            Message.role.in_(roles),
            Message.content.is_not(None),
        )
        .order_by(Message.seq)
        .limit(limit)
    )
    return (await db.execute(stmt)).all()


async def user_ids(db: Executor, *, only: uuid.UUID | None = None) -> list[uuid.UUID]:
    """Every user that owns a thread (or just `only`, if it does)."""
    stmt = select(Thread.owner_id).distinct()
    if only is not None:
        stmt = stmt.where(Thread.owner_id == only)
    return list((await db.execute(stmt)).scalars().all())


async def count_threads(db: Executor, *, only: uuid.UUID | None = None) -> int:
    """How many threads there are (or `only` owns)."""
    stmt = select(func.count()).select_from(Thread)
    if only is not None:
        stmt = stmt.where(Thread.owner_id == only)
    return int((await db.execute(stmt)).scalar_one())


async def sharing_owners(db: Executor, *, user_id: uuid.UUID) -> list[uuid.UUID]:
    """The owners of the threads shared with a user."""
    stmt = (
        select(Thread.owner_id)
        .join(ThreadShare, ThreadShare.thread_id == Thread.id)
        .where(ThreadShare.user_id == user_id)
        .distinct()
    )
    return list((await db.execute(stmt)).scalars().all())


async def index_is_behind(db: Executor) -> bool:
    """Messages with text are stored and the index holds no row at all."""
    texts = select(Message.id).where(Message.role.in_(("user", "assistant"))).limit(1).exists()
    rows = select(SearchTerm.seq).limit(1).exists()
    return bool((await db.execute(select(texts, ~rows))).one() == (True, True))
