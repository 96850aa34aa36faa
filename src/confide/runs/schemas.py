"""Request and response bodies of runs, shared by the JSON, SSE and WebSocket adapters.

A message sent over HTTP (`SendMessage`) and over the socket (`WsSend`) is validated by the
same field type, so the three ways in accept and refuse exactly the same input.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter

from confide.threads.schemas import MessageOut

MAX_CONTENT = 100_000


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("a message cannot be blank")
    return value


Content = Annotated[
    str,
    Field(min_length=1, max_length=MAX_CONTENT, description="The user's message."),
    AfterValidator(_not_blank),
]
EventId = Annotated[int, Field(ge=0, description="Replay events after this id.")]


MAX_FILES = 10

ParentId = Annotated[
    uuid.UUID | None,
    Field(
        default=None,
        description="The message the new one follows: another branch of the thread (default: "
        "the end of its active path).",
    ),
]
FileIds = Annotated[
    list[uuid.UUID],
    Field(
        default_factory=list,
        max_length=MAX_FILES,
        description="Uploaded files (`POST /api/files`) to attach to the message.",
    ),
]


class SendMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: Content
    parent_id: ParentId = None
    file_ids: FileIds


class EditMessage(BaseModel):
    """A new version of a user message: a new branch beside it, answered by the agent."""

    model_config = ConfigDict(extra="forbid")

    content: Content
    file_ids: FileIds


class Regenerate(BaseModel):
    """A new answer to the user message a run answered, beside its answer."""

    model_config = ConfigDict(extra="forbid")

    agent_id: str | None = Field(
        default=None, max_length=64, description="Another agent to answer (default: the run's)."
    )


RunStatus = Literal["running", "waiting", "completed", "failed", "cancelled"]


class RunOut(BaseModel):
    id: uuid.UUID
    thread_id: uuid.UUID
    agent_id: str
    model: str
    status: RunStatus
    error_code: str | None
    error: str | None = Field(description="Why the run did not complete, in words for the user.")
    error_detail: str | None = Field(
        default=None,
        description="What a failing model endpoint said (status and message). Admins only: "
        "it may name internal hosts or accounts.",
    )
    created_at: datetime
    finished_at: datetime | None
    parent_id: uuid.UUID | None = Field(
        default=None,
        description="The message the run's answer follows: the user message it answers (a "
        "continued run: the answer it continues).",
    )


class RunResult(BaseModel):
    """A whole turn, for a JSON client: the run and the messages it stored (the user's
    first; a regenerated or continued run stores no user message)."""

    run: RunOut
    messages: list[MessageOut]


class WsSubscribe(BaseModel):
    """Follow a run's events after an id (replayed, then live while it runs)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["subscribe"]
    run_id: uuid.UUID
    after: EventId = 0


class WsSend(BaseModel):
    """Send a message on a thread and follow the run it starts."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["send"]
    thread_id: uuid.UUID
    content: Content
    parent_id: ParentId = None
    file_ids: FileIds


WsClientMessage = Annotated[WsSubscribe | WsSend, Field(discriminator="type")]
WS_CLIENT_ADAPTER: TypeAdapter[WsSubscribe | WsSend] = TypeAdapter(WsClientMessage)
