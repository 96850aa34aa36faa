"""Runs and the events they emit (kept so a client that lost its connection can resume)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, literal_column, text
from sqlalchemy.orm import Mapped, mapped_column

from confide.db.base import Base, IdMixin, utcnow

RUNNING = "running"
# Paused until its user answers an approval (runs/approvals): no process holds it.
WAITING = "waiting"


class Run(IdMixin, Base):
    __tablename__ = "runs"
    __table_args__ = (
        # At most one run in progress (running or waiting) per thread, enforced by the
        # database itself.
        Index(
            "uq_runs_thread_active",
            "thread_id",
            unique=True,
            sqlite_where=text("status IN ('running', 'waiting')"),
            postgresql_where=text("status IN ('running', 'waiting')"),
        ),
        # A user's runs by time: the usage summary of a period (usage/repository.py).
        Index("ix_runs_user_created", "user_id", "created_at"),
    )

    thread_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    agent_id: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=RUNNING)
    error_code: Mapped[str | None] = mapped_column(String(64), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    # What a model endpoint said when it failed the run: for the log and admins, never users.
    error_detail: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    # The process executing the run (NULL while its job waits in the queue), and when its
    # hold lapses unless renewed (runs/sweeper.py).
    worker_id: Mapped[str | None] = mapped_column(String(200), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    # The job that goes on with a run resumed after a wait (NULL: `run_job_key`).
    job_key: Mapped[str | None] = mapped_column(String(200), default=None)
    # The message the run's answer follows: the user message it answers (a regenerated run:
    # the same one as the run it regenerates; a continued one: the answer it continues).
    parent_id: Mapped[uuid.UUID | None] = mapped_column(default=None)


@dataclass(slots=True)
class RunState:
    """A run as its process knows it while it goes on (a `runs` row, without the ORM)."""

    id: uuid.UUID
    thread_id: uuid.UUID
    user_id: uuid.UUID
    agent_id: str
    model: str
    created_at: datetime
    status: str = RUNNING
    error_code: str | None = None
    error: str | None = None
    error_detail: str | None = None
    finished_at: datetime | None = None
    worker_id: str | None = None  # the process executing it, which alone may write it
    # The last message of the path it writes (its next message follows it), and whether that
    # message may already have other replies (a regenerated or continued run's first answer).
    tail_id: uuid.UUID | None = None
    branching: bool = False
    parent_id: uuid.UUID | None = None  # the message its answer follows (`Run.parent_id`)


# "In progress", written out in the SQL rather than bound: only then can SQLite see that the
# partial index above (WHERE status = 'running') answers the query.
IS_RUNNING = Run.status == literal_column(f"'{RUNNING}'")
# Running or waiting: the thread is taken. Written out as the partial index above says it.
IS_ACTIVE = Run.status.in_([literal_column(f"'{RUNNING}'"), literal_column(f"'{WAITING}'")])


class RunEvent(Base):
    """One event of a run, numbered from 1 (the SSE `id:`)."""

    __tablename__ = "run_events"

    run_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    data: Mapped[bytes] = mapped_column(LargeBinary)  # JSON, sealed by the run owner's codec
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
