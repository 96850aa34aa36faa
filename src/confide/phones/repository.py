"""Every query of the phones feature."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from confide.phones.models import Phone


async def get_for_user(db: AsyncSession, user_id: uuid.UUID) -> Phone | None:
    """The user's phone (the caller's own: the key is the owner)."""
    found = await db.execute(select(Phone).where(Phone.user_id == user_id))
    return found.scalar_one_or_none()


async def get_or_create(
    db: AsyncSession, user_id: uuid.UUID, *, number: bytes, now: datetime
) -> Phone:
    """The user's phone row, inserted first if there is none. `ON CONFLICT DO NOTHING`: two
    first-time changes racing both get the one row (the second waits for the first's insert)
    instead of one failing on the key."""
    dialect = db.get_bind().dialect.name
    insert = sqlite_insert if dialect == "sqlite" else pg_insert
    await db.execute(
        insert(Phone)
        .values(user_id=user_id, number=number, code_attempts=0, created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=["user_id"])
    )
    found = await db.execute(
        select(Phone).where(Phone.user_id == user_id).execution_options(populate_existing=True)
    )
    return found.scalar_one()


async def verified_number(db: AsyncSession, user_id: uuid.UUID) -> bytes | None:
    """The user's phone number (sealed) if it is verified, else None."""
    found = await db.execute(
        select(Phone.number).where(Phone.user_id == user_id, Phone.verified_at.is_not(None))
    )
    return found.scalar_one_or_none()


async def take_attempt(db: AsyncSession, user_id: uuid.UUID, *, max_attempts: int) -> int | None:
    """Count one try at the pending code before it is compared, so requests racing cannot
    get more than `max_attempts` tries between them; the tries so far, or None when no code
    is pending any more (or it had all its tries)."""
    found = await db.execute(
        update(Phone)
        .where(
            Phone.user_id == user_id,
            Phone.code_hash.is_not(None),
            Phone.code_attempts < max_attempts,
        )
        .values(code_attempts=Phone.code_attempts + 1)
        .returning(Phone.code_attempts)
        .execution_options(synchronize_session=False)
    )
    attempts = found.scalar_one_or_none()
    return None if attempts is None else int(attempts)


async def delete_for_user(db: AsyncSession, user_id: uuid.UUID) -> bool:
    result = await db.execute(delete(Phone).where(Phone.user_id == user_id))
    assert isinstance(result, CursorResult)
    return result.rowcount == 1
