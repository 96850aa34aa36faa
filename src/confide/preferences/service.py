"""Users' settings: read with their defaults, changed field by field. Never commits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from confide.db.base import utcnow
from confide.errors import ValidationFailed
from confide.preferences import repository
from confide.storage.codec import Executor


@dataclass(frozen=True, slots=True)
class Preferences:
    memory_enabled: bool = True
    retention_days: int | None = None
    updated_at: datetime | None = None


DEFAULTS = Preferences()


class InvalidSetting(ValidationFailed):
    code = "invalid_setting"
    title = "A setting has a value it cannot take"


async def preferences_of(db: Executor, user_id: uuid.UUID) -> Preferences:
    """The user's settings (the defaults where they never changed them)."""
    row = await repository.get(db, user_id)
    if row is None:
        return DEFAULTS
    return Preferences(
        memory_enabled=row.memory_enabled,
        retention_days=row.retention_days,
        updated_at=row.updated_at,
    )


async def memory_enabled(db: Executor, user_id: uuid.UUID) -> bool:
    """Whether facts are extracted for the user and memories go into their prompts."""
    return await repository.memory_enabled(db, user_id)


async def update_preferences(
    db: AsyncSession, user_id: uuid.UUID, changes: dict[str, Any]
) -> Preferences:
    """Change the settings named in `changes` (memory_enabled: a bool; retention_days: None
    or a number of days, checked by the request body)."""
    if "memory_enabled" in changes and changes["memory_enabled"] is None:
        raise InvalidSetting("memory_enabled is true or false, never null.")
    if changes:
        await repository.upsert(db, user_id, {**changes, "updated_at": utcnow()})
    return await preferences_of(db, user_id)
