"""Folders: a user's named groups of threads (a thread is in at most one, `threads.folder_id`)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from confide.db.base import Base, IdMixin, utcnow


class Folder(IdMixin, Base):
    __tablename__ = "folders"
    __table_args__ = (
        # The sidebar's list: one user's folders in their order, keyset on (position, id).
        Index("ix_folders_owner_position", "owner_id", "position", "id"),
    )

    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[bytes] = mapped_column(LargeBinary)  # sealed (codec: folders.name)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
