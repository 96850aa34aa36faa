"""Uploaded files (`files`) and their attachment to messages (`message_files`).

A file's name, its extracted text and its SHA-256 are sealed through the owner's codec; its
bytes live in a blob (storage.py), sealed too, addressed by `blob_key`: a keyed hash of the
content under the owner's key, so one owner's copies share one blob and the address tells
nobody what the file holds. A deleted file keeps its row (`deleted_at`, content gone), so the
messages it was attached to still name it.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from confide.db.base import Base, IdMixin, utcnow


class StoredFile(IdMixin, Base):
    __tablename__ = "files"
    __table_args__ = (
        # The owner's list (newest first, keyset), and their copies of one content.
        Index("ix_files_owner_created", "owner_id", "created_at", "id"),
        Index("ix_files_owner_blob", "owner_id", "blob_key"),
    )

    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[bytes] = mapped_column(LargeBinary)  # sealed
    kind: Mapped[str] = mapped_column(String(8))  # text | pdf | image
    content_type: Mapped[str] = mapped_column(String(64))  # sniffed from the bytes
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[bytes] = mapped_column(LargeBinary)  # sealed hex digest of the plaintext
    blob_key: Mapped[str] = mapped_column(String(64))  # storage.py: the blob's address
    # The text a model reads (text files, a PDF's extracted text), sealed; NULL for images.
    text: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    text_chars: Mapped[int | None] = mapped_column(Integer, default=None)
    lines: Mapped[int | None] = mapped_column(Integer, default=None)
    pages: Mapped[int | None] = mapped_column(Integer, default=None)  # PDFs
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class MessageFile(Base):
    """A file attached to a user's message, in the order the user gave them."""

    __tablename__ = "message_files"

    message_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("files.id", ondelete="CASCADE"), index=True
    )
    thread_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("threads.id", ondelete="CASCADE"), index=True
    )
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # Characters of the file's text the model gets with this message (the context budget
    # decided it when attached; fewer than the file's: FileRef.truncated). NULL: an image.
    sent_chars: Mapped[int | None] = mapped_column(Integer, default=None)
