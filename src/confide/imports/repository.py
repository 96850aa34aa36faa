"""Every query of the imports feature: the `imports` table (reads filter by owner; the job
names the row by id), and the reads a whole-tree export makes of a thread's messages."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from confide.db.keyset import newest_first_page
from confide.imports.models import COMPLETED, FAILED, QUEUED, RUNNING, Import
from confide.threads.models import Message


async def get_owned(db: AsyncSession, *, owner_id: uuid.UUID, import_id: uuid.UUID) -> Any:
    """The owner's import, without its upload (None: missing or someone else's)."""
    stmt = select(*_SHOWN).where(Import.id == import_id, Import.owner_id == owner_id)
    return (await db.execute(stmt)).one_or_none()


async def list_owned(
    db: AsyncSession,
    *,
    owner_id: uuid.UUID,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[Any]:
    """The owner's imports, newest first, keyset on (created_at, id), without uploads."""
    stmt = newest_first_page(
        select(*_SHOWN).where(Import.owner_id == owner_id),
        time=Import.created_at,
        key=Import.id,
        after=after,
        limit=limit,
    )
    return (await db.execute(stmt)).all()


_SHOWN = (
    Import.id,
    Import.owner_id,
    Import.status,
    Import.format,
    Import.agent_id,
    Import.total,
    Import.done,
    Import.threads_created,
    Import.skipped_count,
    Import.skipped,
    Import.error,
    Import.created_at,
    Import.finished_at,
)


async def claim(db: AsyncSession, *, import_id: uuid.UUID) -> Any:
    """Begin (or resume) a job's try on an unfinished import: it is running, one try more.
    The row with its upload, or None when it is finished (or gone)."""
    result = await db.execute(
        update(Import)
        .where(Import.id == import_id, Import.status.in_((QUEUED, RUNNING)))
        .values(status=RUNNING, attempts=Import.attempts + 1)
    )
    if getattr(result, "rowcount", 0) != 1:
        return None
    stmt = select(*_SHOWN, Import.attempts, Import.upload).where(Import.id == import_id)
    return (await db.execute(stmt)).one_or_none()


async def record_progress(
    db: AsyncSession,
    *,
    import_id: uuid.UUID,
    done: int,
    threads_created: int,
    skipped_count: int,
    skipped: bytes | None,
) -> bool:
    """Count one more conversation done, if the row still says `done` of them were (False:
    another delivery of the job got there first, and this one must stop)."""
    values: dict[str, Any] = {
        "done": done + 1,
        "threads_created": Import.threads_created + threads_created,
        "skipped_count": Import.skipped_count + skipped_count,
    }
    if skipped is not None:
        values["skipped"] = skipped
    result = await db.execute(
        update(Import)
        .where(Import.id == import_id, Import.done == done, Import.status == RUNNING)
        .values(**values)
    )
    return getattr(result, "rowcount", 0) == 1


async def finish(
    db: AsyncSession, *, import_id: uuid.UUID, failed: str | None, now: datetime
) -> None:
    """The import is over (completed, or failed with `failed` saying why); its upload goes."""
    await db.execute(
        update(Import)
        .where(Import.id == import_id, Import.status.in_((QUEUED, RUNNING)))
        .values(
            status=COMPLETED if failed is None else FAILED,
            error=failed,
            upload=None,
            finished_at=now,
        )
    )


async def thread_messages(db: AsyncSession, *, thread_id: uuid.UUID) -> Sequence[Message]:
    """Every message of a thread, every branch, in the order they were stored."""
    stmt = select(Message).where(Message.thread_id == thread_id).order_by(Message.seq)
    return (await db.execute(stmt)).scalars().all()
