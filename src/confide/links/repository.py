"""Every query of share links. The owner's reads and writes filter by owner; the public read
finds a link by its token's hash alone."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from confide.auth.models import User
from confide.db.keyset import newest_first_page
from confide.links.models import ShareLink
from confide.threads.models import Thread


async def add(db: AsyncSession, link: ShareLink) -> None:
    db.add(link)
    await db.flush()


async def list_for_thread(
    db: AsyncSession,
    *,
    owner_id: uuid.UUID,
    thread_id: uuid.UUID,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[ShareLink]:
    """The owner's links of one thread, newest first, keyset on (created_at, id)."""
    stmt = select(ShareLink).where(ShareLink.thread_id == thread_id, ShareLink.owner_id == owner_id)
    stmt = newest_first_page(
        stmt, time=ShareLink.created_at, key=ShareLink.id, after=after, limit=limit
    )
    return (await db.execute(stmt)).scalars().all()


async def owned_page(
    db: AsyncSession,
    *,
    owner_id: uuid.UUID,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[ShareLink]:
    """Every link of the owner's, newest first (the privacy export)."""
    stmt = select(ShareLink).where(ShareLink.owner_id == owner_id)
    stmt = newest_first_page(
        stmt, time=ShareLink.created_at, key=ShareLink.id, after=after, limit=limit
    )
    return (await db.execute(stmt)).scalars().all()


async def remove(
    db: AsyncSession, *, owner_id: uuid.UUID, thread_id: uuid.UUID, link_id: uuid.UUID
) -> bool:
    """Delete one of the owner's links of the thread (False: there is no such link)."""
    result = await db.execute(
        delete(ShareLink).where(
            ShareLink.id == link_id,
            ShareLink.thread_id == thread_id,
            ShareLink.owner_id == owner_id,
        )
    )
    assert isinstance(result, CursorResult)
    return result.rowcount == 1


async def live_by_hash(db: AsyncSession, token_hash: bytes, *, now: datetime) -> Any:
    """The link of this token's hash that has not expired, with its thread's agent and
    sealed title and its owner's display name: (link, agent_id, title, display_name), or
    None. Nothing else of the owner's account is read."""
    stmt = (
        select(ShareLink, Thread.agent_id, Thread.title, User.display_name)
        .join(Thread, Thread.id == ShareLink.thread_id)
        .join(User, User.id == ShareLink.owner_id)
        .where(
            ShareLink.token_hash == token_hash,
            or_(ShareLink.expires_at.is_(None), ShareLink.expires_at > now),
        )
    )
    return (await db.execute(stmt)).one_or_none()
