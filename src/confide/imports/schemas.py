"""Bodies of /api/imports."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class SkippedItem(BaseModel):
    """Something of the file that was not imported."""

    conversation: str = Field(description="The conversation's title (or id) in the file.")
    message_id: str | None = Field(
        default=None, description="The message's id in the file (None: the whole conversation)."
    )
    reason: str


class ImportOut(BaseModel):
    id: uuid.UUID
    status: Literal["queued", "running", "completed", "failed"]
    format: Literal["chatgpt", "confide"]
    agent_id: str = Field(description="The agent every imported thread is with.")
    total: int = Field(description="Conversations in the file.")
    done: int = Field(description="Conversations worked through so far.")
    threads_created: int
    skipped_count: int = Field(description="Everything left out, reported or not.")
    skipped: list[SkippedItem] = Field(
        description="What was left out and why (the first 1,000 items; `skipped_count` "
        "counts them all)."
    )
    error: str | None = Field(default=None, description="Why a failed import stopped.")
    created_at: datetime
    finished_at: datetime | None = None
