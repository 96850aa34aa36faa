"""Share links: one row per link, the token's hash only."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from confide.db.base import Base, IdMixin, utcnow


class ShareLink(IdMixin, Base):
    """A public, read-only snapshot of one path of a thread: the path from a first message
    to `leaf_id`, as it was when the link was made (rows are append-only, so that path never
    changes). Deleting the thread or its owner deletes its links."""

    __tablename__ = "share_links"
    __table_args__ = (
        # The owner's list of a thread's links, newest first.
        Index("ix_share_links_thread_created", "thread_id", "created_at", "id"),
    )

    thread_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    owner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    # SHA-256 of the token (256 random bits): the token itself is never stored.
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    leaf_id: Mapped[uuid.UUID] = mapped_column()  # the snapshot's last message
    message_count: Mapped[int] = mapped_column(Integer)  # messages of the path, when made
    include_tool_calls: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
