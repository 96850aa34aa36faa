"""The outbox (messages waiting for, or done with, delivery) and the record of every attempt."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from confide.db.base import Base, IdMixin, utcnow


class OutboxMessage(IdMixin, Base):
    """One email or SMS. The recipient is kept in clear (delivery needs it); the body only
    until the message is sent or given up (then it is blanked: the link or code it carries must
    not stay in the database)."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_status_next", "status", "next_attempt_at"),)

    kind: Mapped[str] = mapped_column(String(8))  # email | sms
    recipient: Mapped[str] = mapped_column(String(320))
    # SHA-256 (hex) of the normalised recipient: what the attempts and logs name.
    recipient_hash: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(String(998), default="")
    body: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, default=None
    )
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued | sent | failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=utcnow)
    # Held by one delivery until then (a job executed twice at once sends once).
    claimed_until: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    # An SMS that cannot be delivered goes to this address as an email instead.
    fallback_email: Mapped[str | None] = mapped_column(String(320), default=None)


class NotificationAttempt(IdMixin, Base):
    """One try at delivering a message: never its body, subject or recipient in clear."""

    __tablename__ = "notification_attempts"

    message_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("outbox_messages.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    channel: Mapped[str] = mapped_column(String(16))  # outbox | smtp | telesign
    recipient_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # sent | retry | failed
    provider_ref: Mapped[str | None] = mapped_column(String(200), default=None)
    error: Mapped[str | None] = mapped_column(String(500), default=None)
