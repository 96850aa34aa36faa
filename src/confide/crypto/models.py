"""Each user's data key, wrapped by a master key of the ring (never stored unwrapped)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from confide.db.base import Base, utcnow


class UserKey(Base):
    """A user's data key, sealed under a master key (its id is in the blob's header).
    Deleting the row destroys everything sealed under the key (crypto-shredding)."""

    __tablename__ = "user_keys"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    # The master key it is wrapped under (also in the blob's header): what rewrap and retire
    # look for.
    master_key_id: Mapped[str] = mapped_column(String(32), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    rewrapped_at: Mapped[datetime | None] = mapped_column(default=None)
