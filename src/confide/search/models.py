"""The blind index: one row per distinct word of a message (or of a thread's title), the
word replaced by its keyed token (`ContentCodec.blind_token`)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, PrimaryKeyConstraint, SmallInteger
from sqlalchemy.orm import Mapped, mapped_column

from confide.db.base import Base

TITLE_SEQ = 0  # the `seq` of a thread title's rows (messages count from 1)


class SearchTerm(Base):
    """A word of one document: a message (`seq` >= 1) or its thread's title (`seq` 0).

    The primary key starts with (user_id, token): a query's lookups walk it. The two other
    indexes serve the cascades (PostgreSQL finds a deleted thread's or message's rows by
    them, instead of scanning the table once per message) and a title's replacement."""

    __tablename__ = "search_terms"
    __table_args__ = (
        # On PostgreSQL the key carries the other columns a query reads, so it reads a word's
        # rows from the index alone (search_bench: 26 ms -> 11 ms for a word's 9,000 rows).
        PrimaryKeyConstraint(
            "user_id",
            "token",
            "thread_id",
            "seq",
            name="pk_search_terms",
            postgresql_include=["message_id", "tf", "created_at"],
        ),
        Index("ix_search_terms_thread_seq", "thread_id", "seq"),
        # On SQLite the rows live in the primary key's b-tree: a query reads a token's rows
        # in one range instead of one table lookup per row (search_bench: 26 ms -> 1.3 ms to
        # read a word's 9,000 rows).
        {"sqlite_with_rowid": False},
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token: Mapped[bytes] = mapped_column(LargeBinary(16))
    thread_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer, autoincrement=False)
    message_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), default=None, index=True
    )
    tf: Mapped[int] = mapped_column(SmallInteger)  # times the word occurs in the document
    created_at: Mapped[datetime] = mapped_column()  # the document's, for ranking by recency
