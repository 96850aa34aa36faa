"""Response bodies of /api/me/search."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class SearchHit(BaseModel):
    """One document that matched: a message, or a thread's title (no `message_id`)."""

    thread_id: uuid.UUID
    thread_title: str | None
    message_id: uuid.UUID | None = Field(description="None when the thread's title matched.")
    seq: int | None = Field(description="The message's position in its thread (None: title).")
    role: Literal["user", "assistant"] | None
    snippet: str = Field(description="About 160 characters around the first matching word.")
    matched_words: int = Field(description="How many of the query's words the document holds.")
    score: float = Field(description="Rank within `matched_words`: rarer words weigh more.")
    created_at: datetime
