"""Memories: one durable fact about a user each, sealed through the content codec."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from confide.db.base import Base, IdMixin, utcnow

ACTIVE = "active"
SUPERSEDED = "superseded"


class Memory(IdMixin, Base):
    __tablename__ = "memories"
    __table_args__ = (
        # The list (newest first, keyset) and the prompt's pick both read one user's rows.
        Index("ix_memories_user_created", "user_id", "created_at", "id"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(32))  # facts.MEMORY_KEYS
    content: Mapped[bytes] = mapped_column(LargeBinary)  # through the codec
    # Where it came from (NULL: added by hand, or its message or thread was deleted).
    source_message_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), default=None, index=True
    )
    source_thread_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("threads.id", ondelete="SET NULL"), default=None, index=True
    )
    status: Mapped[str] = mapped_column(String(16), default=ACTIVE)
    # The memory that replaced this one (a newer fact of a single-valued key).
    superseded_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("memories.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Last put into a run's system prompt, and how many times.
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    use_count: Mapped[int] = mapped_column(Integer, default=0)
