"""Users, their sign-in sessions, and the refresh tokens of each session (its token family)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from confide.db.base import Base, IdMixin, utcnow


class User(IdMixin, Base):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(320))
    # NFKC + lower case of the email (see auth.emails.email_key): uniqueness and look-up key.
    email_key: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(512))
    display_name: Mapped[str | None] = mapped_column(String(100))
    # active | disabled | pending (registered under CONFIDE_REGISTRATION=approval, waiting).
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the current email was proven to be the user's (a link followed); None: not yet.
    email_verified_at: Mapped[datetime | None] = mapped_column(default=None)


class AuthSession(IdMixin, Base):
    """One sign-in. Its id is the `sid` claim of every access token it issues."""

    __tablename__ = "auth_sessions"
    __table_args__ = (Index("ix_auth_sessions_user_created", "user_id", "created_at"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    mode: Mapped[str] = mapped_column(String(16))  # "bearer" or "cookie"
    label: Mapped[str] = mapped_column(String(200))
    ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]  # absolute end, however active the session is
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    end_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    # When it last proved who it is (sign-in, MFA, POST /api/auth/reauth): step-up reads it.
    authenticated_at: Mapped[datetime | None] = mapped_column(default=None)


class RefreshToken(IdMixin, Base):
    """A refresh token, stored only as its SHA-256. Rotated once; a second use is theft."""

    __tablename__ = "refresh_tokens"

    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("auth_sessions.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    rotated_at: Mapped[datetime | None] = mapped_column(default=None)
