"""Request and response bodies of /api/threads."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from confide.auth.emails import check_email


class WriteModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _clean_title(value: str | None) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split())
    if not value:
        raise ValueError("a title cannot be blank")
    return value


class ThreadCreate(WriteModel):
    agent_id: str | None = Field(default=None, max_length=64)
    title: str | None = Field(default=None, max_length=200)

    @field_validator("title")
    @classmethod
    def _title(cls, value: str | None) -> str | None:
        return _clean_title(value)


class ThreadUpdate(WriteModel):
    title: str = Field(max_length=200)

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        cleaned = _clean_title(value)
        assert cleaned is not None
        return cleaned


class ThreadOwner(BaseModel):
    """The user a thread belongs to."""

    id: uuid.UUID
    email: str
    display_name: str | None


class ThreadOut(BaseModel):
    id: uuid.UUID
    agent_id: str
    title: str | None
    created_at: datetime
    last_activity_at: datetime
    message_count: int
    active_run_id: uuid.UUID | None = Field(
        default=None,
        description="The run in progress on this thread, if any: follow it at "
        "`/api/runs/{id}/events` (e.g. after a page reload).",
    )
    owner: ThreadOwner = Field(description="Who the thread belongs to (the caller, for their own).")
    shared: bool = Field(
        description="Shared with the caller by its owner: the caller may read it, never change it."
    )


class ShareCreate(WriteModel):
    email: str = Field(max_length=320, examples=["bob@example.org"])

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return check_email(value)


class ShareAccepted(BaseModel):
    """The answer to every valid share request, whoever the email belongs to (or not): it
    never tells whether an account exists."""

    email: str = Field(description="The email, as given (normalised).")


class ShareOut(BaseModel):
    """One user a thread is shared with (shown to the thread's owner only)."""

    id: uuid.UUID
    email: str
    display_name: str | None
    created_at: datetime


class ToolCallFunction(BaseModel):
    name: str
    arguments: str  # JSON text, as in OpenAI's format


class ToolCallOut(BaseModel):
    id: str
    type: Literal["function"] = "function"
    function: ToolCallFunction


class MessageOut(BaseModel):
    """A message in OpenAI chat format, plus its id, position and time."""

    id: uuid.UUID
    seq: int
    role: Literal["user", "assistant", "tool", "system"]
    content: str | None
    tool_calls: list[ToolCallOut] | None = None
    tool_call_id: str | None = None
    name: str | None = None
    run_id: uuid.UUID | None = None
    interrupted: bool = Field(
        default=False,
        description="An assistant message cut short (stopped, timed out or failed): the text "
        "the user saw before the run ended.",
    )
    created_at: datetime

    def openai(self) -> dict[str, Any]:
        """The message as OpenAI's Chat Completions API takes it."""
        return openai_message(
            self.role,
            self.content,
            [call.model_dump() for call in self.tool_calls] if self.tool_calls else None,
            self.tool_call_id,
        )


def openai_message(
    role: str,
    content: str | None,
    tool_calls: list[dict[str, Any]] | None,
    tool_call_id: str | None,
) -> dict[str, Any]:
    """A message in OpenAI's Chat Completions format."""
    message: dict[str, Any] = {"role": role, "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    if tool_call_id is not None:
        message["tool_call_id"] = tool_call_id
    return message
