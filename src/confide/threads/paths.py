"""Paths through a thread's tree of messages: the one way a conversation is read.

A thread's messages form a tree (`Message.parent_id`; NULL for a first message). A path is the
chain of parents from a leaf up to a first message: one conversation, the one the model sees
when it answers at that leaf, and the one the thread shows when that leaf is active
(`Thread.active_leaf_id`). Rows are only ever added and a child is always stored after its
parent, so along a path `seq` grows from the first message to the leaf, and a path, once
there, never changes: a share link or an export taken at a leaf stays what it was.

Paths are walked with recursive CTEs over the primary key (a step per message), which both
SQLite and PostgreSQL run in well under a millisecond per page of 50 (bench/branches_bench.py:
"newest 50 of the active path" of a 5,000-message thread with 200 branches, README "Figures").
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Integer, Select, bindparam, func, literal, select, update
from sqlalchemy.orm import aliased

from confide.threads.models import Message, Thread
from confide.threads.repository import Executor

# The columns a page of messages shows (and the model reads), in the order `message_out` and
# `MessageLog.recent` take them.
_COLUMNS = (
    Message.id,
    Message.seq,
    Message.parent_id,
    Message.role,
    Message.content,
    Message.tool_calls,
    Message.tool_call_id,
    Message.name,
    Message.run_id,
    Message.interrupted,
    Message.created_at,
    # Usage (usage/columns.py: `usage_of`, `tool_of`), shown on each message.
    Message.input_tokens,
    Message.output_tokens,
    Message.model_ms,
    Message.first_token_ms,
    Message.model,
    Message.tool_ms,
    Message.tool_status,
)


def _sibling_count() -> Any:
    """A message's number of siblings, itself included (0 for a first message: those are
    counted apart, `siblings`): a count over the (thread, parent) index, a step per row."""
    other = aliased(Message)
    return (
        select(func.count())
        .where(other.thread_id == Message.thread_id, other.parent_id == Message.parent_id)
        .correlate(Message)
        .scalar_subquery()
        .label("sibling_count")
    )


def _walk_up(*, limited: bool, floor: bool) -> Select[*tuple[Any, ...]]:
    """The path from `b_start` up towards a first message: at most `b_limit` steps
    (`limited`), and (`floor`) only messages above position `b_floor`. Built once a shape."""
    up = (
        select(Message.id, Message.parent_id, Message.seq, literal(1, Integer()).label("depth"))
        .where(Message.id == bindparam("b_start"), Message.thread_id == bindparam("b_thread"))
        .cte("up", recursive=True)
    )
    parent = aliased(Message)
    step = select(parent.id, parent.parent_id, parent.seq, (up.c.depth + 1)).where(
        parent.id == up.c.parent_id, parent.thread_id == bindparam("b_thread")
    )
    if limited:
        step = step.where(up.c.depth < bindparam("b_limit", type_=Integer()))
    if floor:
        step = step.where(parent.seq > bindparam("b_floor", type_=Integer()))
    up = up.union_all(step)
    stmt = select(*_COLUMNS, _sibling_count()).join(up, Message.id == up.c.id)
    if floor:
        stmt = stmt.where(up.c.seq > bindparam("b_floor", type_=Integer()))
    return stmt


# Built once: a thread's message page runs one of them on every request.
_NEWEST_FIRST = _walk_up(limited=True, floor=False).order_by(Message.seq.desc())
_AFTER = (
    _walk_up(limited=False, floor=True)
    .order_by(Message.seq.asc())
    .limit(bindparam("b_limit", type_=Integer()))
)
_WHOLE = _walk_up(limited=False, floor=False).order_by(Message.seq.asc())
_PARENT_AT = select(Message.parent_id).where(
    Message.thread_id == bindparam("b_thread"), Message.seq == bindparam("b_seq")
)


async def path_page(
    db: Executor,
    *,
    thread_id: uuid.UUID,
    leaf_id: uuid.UUID | None,
    newest_first: bool,
    limit: int,
    before_seq: int | None = None,
    after_seq: int | None = None,
) -> Sequence[Any]:
    """A page of the path that ends at `leaf_id` (None: an empty thread): newest first from the
    leaf, or from above the message at position `before_seq`; oldest first after position
    `after_seq` (from the first message when None)."""
    if leaf_id is None:
        return []
    if newest_first:
        start: uuid.UUID | None = leaf_id
        if before_seq is not None:  # the page goes on above the last message shown
            start = (
                await db.execute(_PARENT_AT, {"b_thread": thread_id, "b_seq": before_seq})
            ).scalar_one_or_none()
            if start is None:
                return []
        params = {"b_start": start, "b_thread": thread_id, "b_limit": limit}
        return (await db.execute(_NEWEST_FIRST, params)).all()
    params = {"b_start": leaf_id, "b_thread": thread_id, "b_floor": after_seq or 0}
    return (await db.execute(_AFTER, {**params, "b_limit": limit})).all()


async def whole_path(
    db: Executor, *, thread_id: uuid.UUID, leaf_id: uuid.UUID | None
) -> Sequence[Any]:
    """Every message of the path that ends at `leaf_id`, first message first."""
    if leaf_id is None:
        return []
    params = {"b_start": leaf_id, "b_thread": thread_id}
    return (await db.execute(_WHOLE, params)).all()


def _newest_leaf() -> Select[*tuple[Any, ...]]:
    down = (
        select(Message.id.label("id"), literal(0, Integer()).label("depth"))
        .where(Message.id == bindparam("b_start"), Message.thread_id == bindparam("b_thread"))
        .cte("down", recursive=True)
    )
    child = aliased(Message)
    newest_child = (
        select(child.id)
        .where(child.thread_id == bindparam("b_thread"), child.parent_id == down.c.id)
        .order_by(child.seq.desc())
        .limit(1)
        .scalar_subquery()
    )
    down = down.union_all(select(newest_child, down.c.depth + 1).where(down.c.id.is_not(None)))
    return select(down.c.id).where(down.c.id.is_not(None)).order_by(down.c.depth.desc()).limit(1)


_NEWEST_LEAF = _newest_leaf()


async def resolve_leaf(
    db: Executor, *, thread_id: uuid.UUID, message_id: uuid.UUID
) -> uuid.UUID | None:
    """The leaf a path through this message ends at: the message itself, or below it, at each
    step its newest child. None when the message is not one of the thread's."""
    params = {"b_start": message_id, "b_thread": thread_id}
    found = (await db.execute(_NEWEST_LEAF, params)).scalar_one_or_none()
    return None if found is None else uuid.UUID(str(found))


async def set_active(db: Executor, *, thread_id: uuid.UUID, leaf_id: uuid.UUID | None) -> None:
    """Make the path ending at `leaf_id` the one the thread shows and continues."""
    await db.execute(update(Thread).where(Thread.id == thread_id).values(active_leaf_id=leaf_id))


# Built once. Two statements rather than one with `OR parent_id IS NULL`, which SQLite cannot
# answer from the index: it scanned the thread (4.3 ms of a 5,000-message thread's page,
# bench/branches_bench.py).
_CHILDREN = (
    select(Message.parent_id, Message.id)
    .where(
        Message.thread_id == bindparam("b_thread"),
        Message.parent_id.in_(bindparam("b_parents", expanding=True)),
    )
    .order_by(Message.seq)
)
_ROOTS = (
    select(Message.parent_id, Message.id)
    .where(Message.thread_id == bindparam("b_thread"), Message.parent_id.is_(None))
    .order_by(Message.seq)
)


async def siblings(
    db: Executor, *, thread_id: uuid.UUID, parent_ids: Iterable[uuid.UUID | None]
) -> dict[uuid.UUID | None, list[uuid.UUID]]:
    """The children of each of these parents (None: the thread's first messages), oldest
    first: a message's siblings, itself included."""
    wanted = set(parent_ids)
    found: dict[uuid.UUID | None, list[uuid.UUID]] = {}
    named = [parent for parent in wanted if parent is not None]
    rows: list[Any] = []
    if named:
        params = {"b_thread": thread_id, "b_parents": named}
        rows += (await db.execute(_CHILDREN, params)).all()
    if None in wanted:
        rows += (await db.execute(_ROOTS, {"b_thread": thread_id})).all()
    for parent, message_id in rows:
        found.setdefault(parent, []).append(message_id)
    return found


_MESSAGE = select(*_COLUMNS).where(
    Message.id == bindparam("b_message"), Message.thread_id == bindparam("b_thread")
)


async def message_row(db: Executor, *, thread_id: uuid.UUID, message_id: uuid.UUID) -> Any:
    """One message of the thread (None: not one of its)."""
    params = {"b_message": message_id, "b_thread": thread_id}
    return (await db.execute(_MESSAGE, params)).one_or_none()


_RUN_TAIL = (
    select(Message.id)
    .where(Message.thread_id == bindparam("b_thread"), Message.run_id == bindparam("b_run"))
    .order_by(Message.seq.desc())
    .limit(1)
)


async def run_tail(db: Executor, *, thread_id: uuid.UUID, run_id: uuid.UUID) -> uuid.UUID | None:
    """The last message a run stored (None: none yet). While a run is in progress nothing
    else is added to its thread, so its messages are the thread's newest: found at once."""
    params = {"b_thread": thread_id, "b_run": run_id}
    return (await db.execute(_RUN_TAIL, params)).scalar_one_or_none()
