"""Request and response bodies of share links (/api/threads/{id}/links, /api/shared)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from confide.threads.schemas import ToolCallOut

# From a minute to a year; none: until revoked.
MIN_EXPIRY_SECONDS = 60
MAX_EXPIRY_SECONDS = 366 * 86_400


class LinkCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expires_in_seconds: int | None = Field(
        default=None,
        ge=MIN_EXPIRY_SECONDS,
        le=MAX_EXPIRY_SECONDS,
        description="The link stops working this long after it is made (none: until revoked).",
    )
    include_tool_calls: bool = Field(
        default=True,
        description="Show the agent's tool calls and their results (false: only the user's "
        "messages and the agent's text answers).",
    )


class LinkOut(BaseModel):
    """A share link, as its owner sees it in the list (the token is never shown again)."""

    id: uuid.UUID
    created_at: datetime
    expires_at: datetime | None
    include_tool_calls: bool
    message_count: int = Field(description="Messages of the path the link shows.")
    leaf_id: uuid.UUID = Field(description="The last message the link shows.")


class LinkCreated(LinkOut):
    """A link just made: its token and URL are shown here, once."""

    token: str = Field(description="The secret part of the URL; only its hash is stored.")
    url: str = Field(description="The link's page, relative to the server: `/s/<token>`.")


class SharedMessage(BaseModel):
    """One message of a shared conversation: no ids, nothing of the owner's account."""

    role: Literal["user", "assistant", "tool", "system"]
    content: str | None
    tool_calls: list[ToolCallOut] | None = None
    tool_call_id: str | None = Field(default=None, description="A tool result's call.")
    name: str | None = Field(default=None, description="A tool result's tool.")
    interrupted: bool = False
    created_at: datetime


class SharedThread(BaseModel):
    """A shared conversation: the path as it was when the link was made, its first page of
    messages (the rest from `GET /api/shared/{token}/messages?cursor=<next_cursor>`)."""

    title: str | None
    agent_name: str | None
    owner_display_name: str | None = Field(
        description="The display name the owner chose (none: they chose none)."
    )
    created_at: datetime = Field(description="When the link was made.")
    expires_at: datetime | None
    messages: list[SharedMessage]
    next_cursor: str | None


class ExportShareLink(LinkOut):
    """A share link in the owner's privacy export (`GET /api/me/export`)."""

    thread_id: uuid.UUID
