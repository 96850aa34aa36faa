"""Request and response bodies of /api/me/memories."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from confide.memories.facts import MAX_CONTENT, MemoryKey


class MemoryOut(BaseModel):
    id: uuid.UUID
    key: MemoryKey = Field(description="name and location hold one fact each; others many.")
    content: str
    status: Literal["active", "superseded"] = Field(
        description="Superseded: a newer fact of the same key replaced it (kept, not used)."
    )
    superseded_by: uuid.UUID | None
    source_message_id: uuid.UUID | None = Field(
        description="The message it was learnt from; null when added by hand (or deleted)."
    )
    source_thread_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    last_used_at: datetime | None = Field(description="Last given to a run's system prompt.")
    use_count: int


class MemoryExport(BaseModel):
    """Every memory of the caller, superseded ones included (the download)."""

    exported_at: datetime
    memories: list[MemoryOut]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MemoryCreate(_Body):
    content: str = Field(min_length=1, max_length=MAX_CONTENT)
    key: MemoryKey = "note"


class MemoryPatch(_Body):
    """Only the fields given change."""

    content: str | None = Field(default=None, min_length=1, max_length=MAX_CONTENT)
    key: MemoryKey | None = None
