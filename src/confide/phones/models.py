"""A user's phone number and its pending verification code."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from confide.db.base import Base, utcnow


class Phone(Base):
    """One phone number per user (E.164), verified by a code sent to it by SMS. A new
    number replaces the old one and starts unverified."""

    __tablename__ = "phones"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    number: Mapped[bytes] = mapped_column(LargeBinary)  # E.164, sealed (user's codec)
    verified_at: Mapped[datetime | None] = mapped_column(default=None)
    # The pending verification: the code's HMAC (mfa/codes.py), bound to this user and number.
    code_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    code_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    code_attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
