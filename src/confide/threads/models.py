"""Threads and their messages (append-only rows in OpenAI chat format)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from confide.db.base import Base, IdMixin, utcnow


class Thread(IdMixin, Base):
    __tablename__ = "threads"
    __table_args__ = (
        # The sidebar: a user's threads, newest activity first, keyset-paginated.
        Index("ix_threads_owner_activity", "owner_id", "last_activity_at", "id"),
    )

    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    agent_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)  # sealed (codec)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)
    message_count: Mapped[int] = mapped_column(Integer, default=0)


class Message(IdMixin, Base):
    """One chat message. Rows are only ever added, never rewritten."""

    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("thread_id", "seq", name="uq_messages_thread_seq"),)

    thread_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)  # position in the thread, from 1
    role: Mapped[str] = mapped_column(String(16))  # user | assistant | tool | system
    content: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)  # sealed
    tool_calls: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)  # JSON, sealed
    tool_call_id: Mapped[str | None] = mapped_column(String(128), default=None)
    name: Mapped[str | None] = mapped_column(String(128), default=None)  # tool name
    run_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    # An assistant message cut short (cancel, time-out, failure): what the user saw, kept.
    interrupted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ThreadShare(IdMixin, Base):
    """A thread shared, read-only, by its owner with one other user."""

    __tablename__ = "thread_shares"
    __table_args__ = (
        UniqueConstraint("thread_id", "user_id", name="uq_thread_shares_thread_user"),
    )

    thread_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
