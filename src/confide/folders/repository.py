"""Every query of the folders feature, and of the organising columns of `threads` it writes
(folder_id, pinned_at, archived_at, and a generated title). Each takes the owner and filters
by it: another user's folder or thread is never found, never changed."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update

from confide.folders.models import Folder
from confide.runs.models import Run
from confide.storage.codec import Executor
from confide.threads.models import TITLE_FIRST_WORDS, TITLE_GENERATED, Message, Thread


async def get_owned(db: Executor, *, owner_id: uuid.UUID, folder_id: uuid.UUID) -> Any:
    stmt = select(Folder.__table__).where(Folder.id == folder_id, Folder.owner_id == owner_id)
    return (await db.execute(stmt)).one_or_none()


async def list_owned(
    db: Executor, *, owner_id: uuid.UUID, after: tuple[int, uuid.UUID] | None, limit: int
) -> Sequence[Any]:
    """The owner's folders by position, then id (keyset on both)."""
    stmt = select(Folder.__table__).where(Folder.owner_id == owner_id)
    if after is not None:
        position, last_id = after
        stmt = stmt.where(
            or_(Folder.position > position, and_(Folder.position == position, Folder.id > last_id))
        )
    stmt = stmt.order_by(Folder.position, Folder.id).limit(limit)
    return (await db.execute(stmt)).all()


async def count_owned(db: Executor, *, owner_id: uuid.UUID) -> int:
    stmt = select(func.count()).select_from(Folder).where(Folder.owner_id == owner_id)
    return int((await db.execute(stmt)).scalar_one())


async def next_position(db: Executor, *, owner_id: uuid.UUID) -> int:
    """One past the owner's last folder: a new folder goes at the end."""
    stmt = select(func.max(Folder.position)).where(Folder.owner_id == owner_id)
    last = (await db.execute(stmt)).scalar_one_or_none()
    return 0 if last is None else int(last) + 1


async def insert_folder(db: Executor, row: dict[str, Any]) -> None:
    await db.execute(insert(Folder), [row])


async def update_folder(
    db: Executor, *, owner_id: uuid.UUID, folder_id: uuid.UUID, values: dict[str, Any]
) -> Any:
    stmt = (
        update(Folder)
        .where(Folder.id == folder_id, Folder.owner_id == owner_id)
        .values(**values)
        .returning(*Folder.__table__.c)
    )
    return (await db.execute(stmt)).one_or_none()


async def delete_folder(db: Executor, *, owner_id: uuid.UUID, folder_id: uuid.UUID) -> bool:
    """Delete the owner's folder, its threads moved out of it first (not relying on the
    foreign key's SET NULL alone: SQLite enforces it only with its pragma on)."""
    await db.execute(
        update(Thread)
        .where(Thread.folder_id == folder_id, Thread.owner_id == owner_id)
        .values(folder_id=None)
    )
    stmt = (
        delete(Folder)
        .where(Folder.id == folder_id, Folder.owner_id == owner_id)
        .returning(Folder.id)
    )
    return (await db.execute(stmt)).scalar_one_or_none() is not None


# The title job.


async def title_source(db: Executor, *, thread_id: uuid.UUID, owner_id: uuid.UUID) -> str | None:
    stmt = select(Thread.title_source).where(Thread.id == thread_id, Thread.owner_id == owner_id)
    return (await db.execute(stmt)).scalar_one_or_none()


async def completed_runs(db: Executor, *, thread_id: uuid.UUID) -> int:
    stmt = (
        select(func.count())
        .select_from(Run)
        .where(Run.thread_id == thread_id, Run.status == "completed")
    )
    return int((await db.execute(stmt)).scalar_one())


async def first_user_message(db: Executor, *, thread_id: uuid.UUID) -> Any:
    """The thread's first user message (id, content), the one its first-words title is of."""
    stmt = (
        select(Message.id, Message.content)
        .where(Message.thread_id == thread_id, Message.role == "user", Message.content.is_not(None))
        .order_by(Message.seq)
        .limit(1)
    )
    return (await db.execute(stmt)).one_or_none()


async def run_answer(db: Executor, *, thread_id: uuid.UUID, run_id: uuid.UUID) -> Any:
    """A run's last assistant text (id, content): its answer."""
    stmt = (
        select(Message.id, Message.content)
        .where(
            Message.thread_id == thread_id,
            Message.run_id == run_id,
            Message.role == "assistant",
            Message.content.is_not(None),
        )
        .order_by(Message.seq.desc())
        .limit(1)
    )
    return (await db.execute(stmt)).one_or_none()


async def set_generated_title(
    db: Executor, *, thread_id: uuid.UUID, owner_id: uuid.UUID, sealed: bytes
) -> bool:
    """Give the thread a generated title if its title is still its first words: one
    conditional statement, so a rename committed before it (or waiting on its row) wins."""
    stmt = (
        update(Thread)
        .where(
            Thread.id == thread_id,
            Thread.owner_id == owner_id,
            Thread.title_source == TITLE_FIRST_WORDS,
        )
        .values(title=sealed, title_source=TITLE_GENERATED)
        .returning(Thread.id)
    )
    return (await db.execute(stmt)).scalar_one_or_none() is not None
