"""One row of settings per user; no row means the defaults."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, true
from sqlalchemy.orm import Mapped, mapped_column

from confide.db.base import Base, utcnow


class UserSettings(Base):
    __tablename__ = "user_settings"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    # Off: no facts are extracted from new messages and no memories go into prompts.
    memory_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Days a conversation is kept after its last activity (NULL: forever); the retention job
    # (privacy/) reads it.
    retention_days: Mapped[int | None] = mapped_column(Integer, default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
