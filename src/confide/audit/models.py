"""One row per audited action, written in the transaction of the change it records."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from confide.db.base import Base, utcnow

# A 64-bit key on PostgreSQL; SQLite's INTEGER PRIMARY KEY (its rowid) is 64-bit already.
BIG_ID = BigInteger().with_variant(Integer(), "sqlite")


class AuditEvent(Base):
    """Rows are only ever added. `hash` covers the row's content and the previous row's hash
    (`prev_hash`), so an edited, removed or inserted row breaks the chain from there on."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_actor_id", "actor_id", "id"),
        Index("ix_audit_events_action", "action", "id"),
        Index("ix_audit_events_target", "target_type", "target_id", "id"),
        Index("ix_audit_events_at", "at"),
    )

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    # No foreign keys: the trail outlives the accounts it names.
    actor_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    actor: Mapped[str | None] = mapped_column(String(320), default=None)  # an email, as it was
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str | None] = mapped_column(String(32), default=None)
    target_id: Mapped[str | None] = mapped_column(String(200), default=None)
    outcome: Mapped[str] = mapped_column(String(16))  # success | failure | denied
    ip: Mapped[str | None] = mapped_column(String(64), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(300), default=None)
    request_id: Mapped[str | None] = mapped_column(String(64), default=None)
    detail: Mapped[str] = mapped_column(Text, default="{}")  # JSON, never a secret or content
    # Unique: two writers that read the same last row cannot both append after it, so the
    # chain stays one line whatever the concurrency (the writers also queue on a lock).
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(Base):
    """The chain's end: one row, updated by each append (which takes its row lock first, so
    appends queue up on every backend) and compared with the last event by `verify`, so
    removing the newest rows is found too."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # 1
    last_id: Mapped[int] = mapped_column(BIG_ID, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))
