"""Threads and their messages (append-only rows in OpenAI chat format)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from confide.db.base import Base, IdMixin, utcnow

# threads.title_source: the first user message's words, the user's own, or the model's.
TITLE_FIRST_WORDS, TITLE_BY_USER, TITLE_GENERATED = "first_words", "user", "generated"


class Thread(IdMixin, Base):
    __tablename__ = "threads"
    __table_args__ = (
        # The sidebar: a user's threads, archived or not (`archived_at IS NULL` is an
        # equality for both databases' planners), newest activity first, keyset-paginated.
        Index(
            "ix_threads_owner_archived_activity",
            "owner_id",
            "archived_at",
            "last_activity_at",
            "id",
        ),
        # The few pinned ones, read on every sidebar load without walking all the others.
        Index(
            "ix_threads_owner_pinned",
            "owner_id",
            "pinned_at",
            postgresql_where=text("pinned_at IS NOT NULL"),
            sqlite_where=text("pinned_at IS NOT NULL"),
        ),
    )

    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    agent_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)  # sealed (codec)
    # Where the title came from (TITLE_*): only a first-words title is ever replaced by a
    # generated one (folders/titles.py); a user's own title is never replaced.
    title_source: Mapped[str] = mapped_column(
        String(16), default="first_words", server_default="first_words"
    )
    # Organising (folders/, which writes these three): a thread is in at most one folder.
    folder_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("folders.id", ondelete="SET NULL"), default=None, index=True
    )
    pinned_at: Mapped[datetime | None] = mapped_column(default=None)
    archived_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    # The end of the path the thread shows and continues (threads/paths.py); NULL: no
    # messages yet. Not a foreign key: a message row is only ever added, never removed alone.
    active_leaf_id: Mapped[uuid.UUID | None] = mapped_column(default=None)


class Message(IdMixin, Base):
    """One chat message. Rows are only ever added, never rewritten.

    A thread is a tree: each message hangs from its `parent` (NULL: a first message), and a
    path from a first message to a leaf is one conversation (threads/paths.py). `seq` numbers
    the thread's messages in the order they were stored, across every branch."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("thread_id", "seq", name="uq_messages_thread_seq"),
        # A message's children (and, parent NULL, a thread's first messages): its siblings.
        Index("ix_messages_thread_parent", "thread_id", "parent_id", "seq"),
        # A run's messages: the usage summary sums them per run (usage/repository.py).
        Index("ix_messages_run", "run_id"),
    )

    thread_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)  # the order stored in, from 1, across branches
    parent_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    role: Mapped[str] = mapped_column(String(16))  # user | assistant | tool | system
    content: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)  # sealed
    tool_calls: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)  # JSON, sealed
    tool_call_id: Mapped[str | None] = mapped_column(String(128), default=None)
    name: Mapped[str | None] = mapped_column(String(128), default=None)  # tool name
    run_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    # An assistant message cut short (cancel, time-out, failure): what the user saw, kept.
    interrupted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Usage (usage/): an assistant message's model request (NULL where the provider said
    # nothing, or the message is no model's answer), and a tool message's call.
    input_tokens: Mapped[int | None] = mapped_column(Integer, default=None)
    output_tokens: Mapped[int | None] = mapped_column(Integer, default=None)
    model_ms: Mapped[float | None] = mapped_column(Float, default=None)
    first_token_ms: Mapped[float | None] = mapped_column(Float, default=None)
    model: Mapped[str | None] = mapped_column(String(200), default=None)
    tool_ms: Mapped[float | None] = mapped_column(Float, default=None)
    tool_status: Mapped[str | None] = mapped_column(String(32), default=None)


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
