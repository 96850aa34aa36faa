"""An import of threads from an uploaded export, worked through by the `import_threads` job."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from confide.db.base import Base, IdMixin, utcnow

QUEUED, RUNNING, COMPLETED, FAILED = "queued", "running", "completed", "failed"


class Import(IdMixin, Base):
    """One upload and how far its job got. `upload` (the file, sealed with the owner's key)
    is kept only until the job ends, so a worker on another host can read it."""

    __tablename__ = "imports"
    __table_args__ = (Index("ix_imports_owner_created", "owner_id", "created_at", "id"),)

    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))  # queued | running | completed | failed
    format: Mapped[str] = mapped_column(String(16))  # chatgpt | confide
    agent_id: Mapped[str] = mapped_column(String(64))  # the agent imported threads get
    total: Mapped[int] = mapped_column(Integer)  # conversations in the file
    done: Mapped[int] = mapped_column(Integer, default=0)  # conversations finished, in order
    threads_created: Mapped[int] = mapped_column(Integer, default=0)
    skipped_count: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)  # JSON, sealed
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # job tries begun
    error: Mapped[str | None] = mapped_column(String(500), default=None)  # ours, no content
    upload: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)  # sealed
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
