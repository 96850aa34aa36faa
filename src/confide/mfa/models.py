"""A user's TOTP secret, their backup codes, and the challenges of MFA sign-ins."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from confide.db.base import Base, IdMixin, utcnow


class MfaTotp(Base):
    """One authenticator app per user: pending until a code confirms it."""

    __tablename__ = "mfa_totp"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    # Stored as is for now: encryption at rest (a key store) comes in a later issue. A
    # database dump therefore holds every user's second factor; the backup codes are hashed.
    secret: Mapped[bytes] = mapped_column(LargeBinary)  # base32, sealed (user's codec)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(default=None)
    # The last 30 s time step accepted: a step is accepted once (UPDATE ... WHERE last_step <).
    last_step: Mapped[int] = mapped_column(BigInteger, default=0)


class MfaBackupCode(IdMixin, Base):
    """A single-use backup code, stored as its HMAC (codes.py says why not Argon2)."""

    __tablename__ = "mfa_backup_codes"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(default=None)


class MfaChallenge(IdMixin, Base):
    """The second step of one sign-in: its token (hashed) is good only for
    `POST /api/auth/mfa/send` and `/verify`, once, for 5 minutes."""

    __tablename__ = "mfa_challenges"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    mode: Mapped[str] = mapped_column(String(16))  # the sign-in's "bearer" or "cookie"
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    # A one-time code sent by email (or SMS), as its HMAC, bound to this challenge.
    code_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    code_channel: Mapped[str | None] = mapped_column(String(16), default=None)
    code_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    code_attempts: Mapped[int] = mapped_column(Integer, default=0)
