"""Single-use tokens behind the links Confide mails to an account's owner."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from confide.db.base import Base, IdMixin, utcnow


class AccountToken(IdMixin, Base):
    """One link's token, stored only as its SHA-256 (the token itself has 256 random bits, so a
    fast hash is enough: nobody can guess one to compare against)."""

    __tablename__ = "account_tokens"
    __table_args__ = (Index("ix_account_tokens_user_purpose", "user_id", "purpose"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # verify_email | reset_password | set_password | email_change
    purpose: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The address a verification link was sent to: verifying it verifies that one only (an
    # email changed since then is not verified by an old link). For `email_change`, the new
    # address itself, as typed (normalised): following the link makes it the account's.
    email_key: Mapped[str | None] = mapped_column(String(320), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)
