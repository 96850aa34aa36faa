"""Request and response bodies of /api/threads."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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
    """Any of these, at least one (folders/service.py `update_thread`)."""

    title: str | None = Field(default=None, max_length=200)
    folder_id: uuid.UUID | None = Field(
        default=None, description="One of the caller's folders; `null`: out of its folder."
    )
    pinned: bool | None = None
    archived: bool | None = Field(
        default=None, description="Archived threads leave the list (`GET /api/threads`)."
    )

    @field_validator("title")
    @classmethod
    def _title(cls, value: str | None) -> str | None:
        if value is None:
            raise ValueError("a title cannot be null")
        return _clean_title(value)

    @field_validator("pinned", "archived")
    @classmethod
    def _flag(cls, value: bool | None) -> bool:
        if value is None:  # only a given null gets here: an absent field is not validated
            raise ValueError("true or false, not null")
        return value

    @model_validator(mode="after")
    def _something(self) -> ThreadUpdate:
        if not self.model_fields_set:
            raise ValueError("give at least one of title, folder_id, pinned, archived")
        return self


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
    message_count: int = Field(description="Messages stored in the thread, every branch.")
    active_leaf_id: uuid.UUID | None = Field(
        default=None,
        description="The last message of the path the thread shows and continues (None: no "
        "messages yet); `PUT /api/threads/{id}/active` switches it.",
    )
    active_run_id: uuid.UUID | None = Field(
        default=None,
        description="The run in progress on this thread, if any: follow it at "
        "`/api/runs/{id}/events` (e.g. after a page reload).",
    )
    owner: ThreadOwner = Field(description="Who the thread belongs to (the caller, for their own).")
    shared: bool = Field(
        description="Shared with the caller by its owner: the caller may read it, never change it."
    )
    folder_id: uuid.UUID | None = Field(
        default=None, description="The owner's folder it is in (always None when shared)."
    )
    pinned: bool = Field(default=False, description="Pinned to the top of the owner's list.")
    archived: bool = Field(
        default=False, description="Archived: listed only with `GET /api/threads?archived=true`."
    )


class ActivePath(WriteModel):
    leaf_id: uuid.UUID = Field(
        description="Any message of the thread: the path through it (and on through its newest "
        "replies) becomes the one the thread shows and continues."
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


class FileRef(BaseModel):
    """A file attached to a message, as the message shows it."""

    id: uuid.UUID
    name: str
    content_type: str
    size: int = Field(description="Bytes.")
    kind: Literal["text", "pdf", "image"]
    truncated: bool = Field(
        default=False,
        description="Only part of the file's text fits in the model's context budget: the model "
        "saw the beginning (and was told the rest was cut).",
    )
    deleted: bool = Field(
        default=False,
        description="The file was deleted since: the message still names it, its content is "
        "gone (`GET /api/files/{id}/content` answers 404).",
    )


# How a tool call ended (the run's `tool.finished` events and stored tool messages alike).
ToolStatus = Literal[
    "ok", "error", "timeout", "unknown_tool", "invalid_arguments", "cancelled", "denied"
]


class MessageUsage(BaseModel):
    """What one model request cost: an assistant message's tokens and latency."""

    input_tokens: int | None = Field(
        default=None, description="Prompt tokens, as the provider counted them (None: not told)."
    )
    output_tokens: int | None = Field(
        default=None, description="Tokens of the answer, as the provider counted them."
    )
    model_ms: float | None = Field(
        default=None, description="The model request's wall time, first byte sent to last read."
    )
    first_token_ms: float | None = Field(
        default=None, description="From the request to the first piece of the answer."
    )
    model: str | None = Field(default=None, description="The model that answered, as it said.")


class ToolOutcome(BaseModel):
    """How a tool message's call went."""

    status: ToolStatus
    duration_ms: float | None = Field(
        default=None, description="The call's duration (None: it was never made, e.g. denied)."
    )


class MessageOut(BaseModel):
    """A message in OpenAI chat format, plus its id, position, place in the thread's tree and
    time."""

    id: uuid.UUID
    seq: int = Field(description="The order the thread's messages were stored in, every branch.")
    parent_id: uuid.UUID | None = Field(
        default=None,
        description="The message this one follows (None: a first message of the thread).",
    )
    sibling_count: int = Field(
        default=1,
        ge=1,
        description="Messages with the same parent, this one included: more than 1 where a "
        "question was edited or an answer regenerated.",
    )
    sibling_index: int = Field(
        default=0, ge=0, description="This message's place among them, from 0, oldest first."
    )
    sibling_ids: list[uuid.UUID] = Field(
        default_factory=list,
        description="Its siblings' ids, oldest first, itself included (empty when it has "
        "none): `PUT /api/threads/{id}/active` with one of them switches to that branch.",
    )
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
    files: list[FileRef] = Field(
        default_factory=list, description="Files attached to this (user) message."
    )
    usage: MessageUsage | None = Field(
        default=None, description="An assistant message's model request: tokens and latency."
    )
    tool: ToolOutcome | None = Field(
        default=None, description="A tool message's call: status and duration."
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
