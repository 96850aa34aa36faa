"""Every query of the preferences feature."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from confide.preferences.models import UserSettings
from confide.storage.codec import Executor


async def get(db: Executor, user_id: uuid.UUID) -> Any:
    """The user's settings row (memory_enabled, retention_days, updated_at), or None."""
    found = await db.execute(
        select(
            UserSettings.memory_enabled, UserSettings.retention_days, UserSettings.updated_at
        ).where(UserSettings.user_id == user_id)
    )
    return found.one_or_none()


async def memory_enabled(db: Executor, user_id: uuid.UUID) -> bool:
    """Whether the user's memory is on (no row: the default, on)."""
    found = await db.execute(
        select(UserSettings.memory_enabled).where(UserSettings.user_id == user_id)
    )
    value = found.scalar_one_or_none()
    return True if value is None else bool(value)


async def upsert(db: AsyncSession, user_id: uuid.UUID, values: dict[str, Any]) -> None:
    """Write the given columns (and `updated_at`), inserting the row with defaults first."""
    dialect = db.get_bind().dialect.name
    insert = sqlite_insert if dialect == "sqlite" else pg_insert
    statement = insert(UserSettings).values(user_id=user_id, **values)
    await db.execute(statement.on_conflict_do_update(index_elements=["user_id"], set_=values))
