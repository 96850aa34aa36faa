"""Every query of the files feature. Each read of a file takes its owner and filters by it:
another user's file is never found."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update

from confide.files.models import MessageFile, StoredFile
from confide.storage.codec import Executor

_LISTED = (
    StoredFile.id,
    StoredFile.owner_id,
    StoredFile.name,
    StoredFile.kind,
    StoredFile.content_type,
    StoredFile.size,
    StoredFile.sha256,
    StoredFile.blob_key,
    StoredFile.text_chars,
    StoredFile.lines,
    StoredFile.pages,
    StoredFile.created_at,
)
_LIVE = StoredFile.deleted_at.is_(None)


async def insert_file(db: Executor, values: dict[str, Any]) -> None:
    await db.execute(insert(StoredFile).values(**values))


async def get_live(db: Executor, *, owner_id: uuid.UUID, file_id: uuid.UUID) -> Any:
    found = await db.execute(
        select(*_LISTED).where(StoredFile.id == file_id, StoredFile.owner_id == owner_id, _LIVE)
    )
    return found.one_or_none()


async def live_by_ids(
    db: Executor, *, owner_id: uuid.UUID, file_ids: Sequence[uuid.UUID]
) -> Sequence[Any]:
    found = await db.execute(
        select(*_LISTED, StoredFile.text).where(
            StoredFile.id.in_(file_ids), StoredFile.owner_id == owner_id, _LIVE
        )
    )
    return found.all()


async def list_live(
    db: Executor,
    *,
    owner_id: uuid.UUID,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[Any]:
    """The owner's files, newest first, keyset-paginated by (created_at, id)."""
    query = select(*_LISTED).where(StoredFile.owner_id == owner_id, _LIVE)
    if after is not None:
        at, last_id = after
        query = query.where(
            or_(
                StoredFile.created_at < at,
                and_(StoredFile.created_at == at, StoredFile.id < last_id),
            )
        )
    query = query.order_by(StoredFile.created_at.desc(), StoredFile.id.desc()).limit(limit)
    return (await db.execute(query)).all()


async def live_copy(db: Executor, *, owner_id: uuid.UUID, blob_key: str) -> Any:
    """A live file of the owner with this content (id, text, text_chars, lines, pages)."""
    found = await db.execute(
        select(
            StoredFile.id,
            StoredFile.text,
            StoredFile.text_chars,
            StoredFile.lines,
            StoredFile.pages,
        )
        .where(StoredFile.owner_id == owner_id, StoredFile.blob_key == blob_key, _LIVE)
        .limit(1)
    )
    return found.one_or_none()


async def used_bytes(db: Executor, *, owner_id: uuid.UUID) -> int:
    """What the owner's live files take: each content once (copies share a blob)."""
    contents = (
        select(StoredFile.blob_key, func.max(StoredFile.size).label("size"))
        .where(StoredFile.owner_id == owner_id, _LIVE)
        .group_by(StoredFile.blob_key)
        .subquery()
    )
    total = await db.execute(select(func.coalesce(func.sum(contents.c.size), 0)))
    return int(total.scalar_one())


async def mark_deleted(
    db: Executor, *, owner_id: uuid.UUID, file_id: uuid.UUID, now: datetime
) -> str | None:
    """Delete a live file's content (its row stays for the messages that name it); its blob
    key, or None when the owner has no such file."""
    result = await db.execute(
        update(StoredFile)
        .where(StoredFile.id == file_id, StoredFile.owner_id == owner_id, _LIVE)
        .values(deleted_at=now, text=None)
        .returning(StoredFile.blob_key)
        .execution_options(synchronize_session=False)
    )
    key: str | None = result.scalar_one_or_none()
    return key


async def insert_attachments(db: Executor, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await db.execute(insert(MessageFile), list(rows))


async def attached(db: Executor, *, message_ids: Sequence[uuid.UUID]) -> Sequence[Any]:
    """The files attached to these messages, in order (with what the refs show)."""
    found = await db.execute(
        select(
            MessageFile.message_id,
            MessageFile.sent_chars,
            StoredFile.id,
            StoredFile.owner_id,
            StoredFile.name,
            StoredFile.content_type,
            StoredFile.size,
            StoredFile.kind,
            StoredFile.text_chars,
            StoredFile.deleted_at,
        )
        .join(StoredFile, StoredFile.id == MessageFile.file_id)
        .where(MessageFile.message_id.in_(message_ids))
        .order_by(MessageFile.message_id, MessageFile.position)
    )
    return found.all()


async def attached_content(
    db: Executor, *, owner_id: uuid.UUID, message_ids: Sequence[uuid.UUID]
) -> Sequence[Any]:
    """The owner's files attached to these messages, in order, with what a model reads."""
    found = await db.execute(
        select(
            MessageFile.message_id,
            MessageFile.sent_chars,
            StoredFile.id,
            StoredFile.name,
            StoredFile.content_type,
            StoredFile.kind,
            StoredFile.blob_key,
            StoredFile.text,
            StoredFile.text_chars,
            StoredFile.lines,
            StoredFile.pages,
            StoredFile.deleted_at,
        )
        .join(StoredFile, StoredFile.id == MessageFile.file_id)
        .where(
            MessageFile.message_id.in_(message_ids),
            MessageFile.owner_id == owner_id,
            StoredFile.owner_id == owner_id,
        )
        .order_by(MessageFile.message_id, MessageFile.position)
    )
    return found.all()
