"""One pending (or decided) tool call of a waiting run: what the model asked for, and the answer."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from confide.db.base import Base, IdMixin, utcnow

PENDING = "pending"
APPROVAL = "approval"
QUESTION = "question"


class Approval(IdMixin, Base):
    __tablename__ = "approvals"
    __table_args__ = (
        UniqueConstraint("run_id", "tool_call_id", name="uq_approvals_run_call"),
        # The badge and the expiry sweep: a user's pending approvals, the oldest first.
        Index("ix_approvals_user_status", "user_id", "status", "created_at"),
        Index("ix_approvals_status_expires", "status", "expires_at"),
    )

    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    thread_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    tool_call_id: Mapped[str] = mapped_column(String(200))
    tool: Mapped[str] = mapped_column(String(100))  # the name the model called
    server_id: Mapped[str | None] = mapped_column(String(64), default=None)
    kind: Mapped[str] = mapped_column(String(16), default=APPROVAL)  # approval | question
    # The model's arguments (JSON text), sealed with the owner's codec.
    arguments: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    # The answer: the arguments as approved (edited or not), the reason, the answer to a
    # question; each sealed (NULL when not given).
    decided_arguments: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    reason: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    answer: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    channel: Mapped[str | None] = mapped_column(String(16), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
