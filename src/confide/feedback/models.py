"""Each user's channel choice, and each notice sent about an approval (one per channel)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from confide.db.base import Base, IdMixin, utcnow


class FeedbackChannels(Base):
    """A user's channels, in fallback order (no row: none, the web app only)."""

    __tablename__ = "feedback_channels"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    # Comma-separated channel names ("slack,email"); empty: the web app only.
    channel_order: Mapped[str] = mapped_column(String(64), default="")
    # The user's Slack member id (U0123ABCD), sealed with their codec: it names their account
    # on another service, and is only ever read by user (never looked up by its value).
    slack_user_id: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


# Notice statuses: `sending` (a Slack post under way), `queued` (an email in the outbox, its
# delivery not known yet), `sent`, `failed` (the next channel was tried).
SENDING, QUEUED, SENT, FAILED = "sending", "queued", "sent", "failed"


class ApprovalNotice(IdMixin, Base):
    """What one channel was sent about one approval: one row per channel, so a job run twice
    sends once."""

    __tablename__ = "approval_notices"
    __table_args__ = (
        UniqueConstraint("approval_id", "channel", name="uq_approval_notices_approval_channel"),
        # The sweep: emails whose delivery is not known yet.
        Index("ix_approval_notices_channel_status", "channel", "status"),
    )

    approval_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("approvals.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))  # email | slack
    status: Mapped[str] = mapped_column(String(16))
    # Email: the outbox message's id; Slack: "<conversation id>:<message ts>".
    ref: Mapped[str | None] = mapped_column(String(200), default=None)
    # Email: SHA-256 (hex) of the link's token (the token itself is only in the email).
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    # When the link was used to answer (a link answers once).
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    error: Mapped[str | None] = mapped_column(String(500), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
