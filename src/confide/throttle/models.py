"""Failure counters (per account key and per client network) and admin IP rules."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from confide.db.base import Base, IdMixin, utcnow


class ThrottleCounter(Base):
    """One counter of failed sign-ins: `acct:<sha256 of the email key>` or `ip:<network>`.

    The email is kept only as a hash: a counter exists for unknown emails too, and the table
    must not become a list of what people typed."""

    __tablename__ = "throttle_counters"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(default=utcnow)
    last_failure_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(default=None, index=True)
    # The owner has been told of this lockout (once per lockout, until a success resets it).
    notified: Mapped[bool] = mapped_column(default=False)


class IpRule(IdMixin, Base):
    """An administrator's allow or block rule for an IP address or CIDR range."""

    __tablename__ = "ip_rules"

    cidr: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(8))  # "allow" | "block"
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
