"""Request and response bodies of /api/files."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class FileOut(BaseModel):
    """An uploaded file, as its owner sees it."""

    id: uuid.UUID
    name: str = Field(description="The name it was uploaded with (no path), for display.")
    content_type: str = Field(description="What the bytes are (sniffed, never the client's).")
    size: int = Field(description="Bytes.")
    kind: Literal["text", "pdf", "image"]
    sha256: str = Field(description="The SHA-256 of the content, hex.")
    created_at: datetime
    text_chars: int | None = Field(
        default=None, description="Characters of text a model can read (text files, PDFs)."
    )
    lines: int | None = Field(default=None, description="Lines of that text.")
    pages: int | None = Field(default=None, description="Pages (PDFs).")


class FileUsage(BaseModel):
    """The caller's file storage: what is used, and the limits."""

    used_bytes: int = Field(description="Bytes the caller's files take (one copy per content).")
    quota_bytes: int = Field(description="CONFIDE_FILE_QUOTA_BYTES.")
    max_file_bytes: int = Field(description="CONFIDE_FILE_MAX_BYTES: the largest upload.")
    types: list[str] = Field(description="CONFIDE_FILE_TYPES: kinds or content types accepted.")
    context_tokens: int = Field(
        description="CONFIDE_FILE_CONTEXT_TOKENS: files' text a model gets with one message."
    )
